from .base_translation_metric import (TranslationMetricMixin, fetch_image,
                                      stack_images)
from .fid import (FIDHelperInception, TranslationFID, find_fid_inception,
                  frechet_distance, load_fid_inception,
                  resize_like_tf1_bilinear)
from .lpips_diversity import LPIPSDiversity, build_lpips
from .pixel_metrics import TranslationMAE, TranslationPSNR, TranslationSSIM
from .style_semantic_consistency import StyleSemanticConsistency
from .swd import TranslationSWD

__all__ = [
    'FIDHelperInception', 'LPIPSDiversity', 'StyleSemanticConsistency',
    'TranslationFID', 'TranslationMAE', 'TranslationMetricMixin',
    'TranslationPSNR', 'TranslationSSIM', 'TranslationSWD', 'build_lpips',
    'fetch_image', 'find_fid_inception', 'frechet_distance',
    'load_fid_inception', 'resize_like_tf1_bilinear', 'stack_images'
]
