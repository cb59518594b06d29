from .atomic_checkpoint_hook import AtomicCheckpointHook
from .autocast_optim_wrapper import AutocastOptimWrapper
from .correspondence_warmup_hook import CorrespondenceWarmupHook
from .nonfinite_loss_hook import NonFiniteLossError, NonFiniteLossHook
from .save_translations_hook import SaveTranslationsHook
from .translation_grid_hook import TranslationGridHook

__all__ = [
    'AtomicCheckpointHook', 'AutocastOptimWrapper', 'CorrespondenceWarmupHook',
    'NonFiniteLossError', 'NonFiniteLossHook', 'SaveTranslationsHook',
    'TranslationGridHook'
]
