from .translation_pictures import condition_image, to_uint8, translation_row
from .translation_visualizer import TranslationVisualizer, cond_channels_of

__all__ = [
    'TranslationVisualizer', 'cond_channels_of', 'condition_image',
    'to_uint8', 'translation_row'
]
