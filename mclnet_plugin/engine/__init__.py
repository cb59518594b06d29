from .autocast_optim_wrapper import AutocastOptimWrapper
from .save_translations_hook import SaveTranslationsHook
from .translation_grid_hook import TranslationGridHook

__all__ = [
    'AutocastOptimWrapper', 'SaveTranslationsHook', 'TranslationGridHook'
]
