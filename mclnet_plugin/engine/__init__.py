from .save_translations_hook import SaveTranslationsHook
from .translation_grid_hook import TranslationGridHook
from .visualization import condition_image, to_uint8, translation_row

__all__ = [
    'SaveTranslationsHook', 'TranslationGridHook', 'condition_image',
    'to_uint8', 'translation_row'
]
