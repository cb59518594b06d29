"""Metrics of the paper's Sec. 4 for MMEngine's Evaluator, registered in
``mmagic.registry.METRICS``."""
from .metrics import (LPIPSDiversity, StyleSemanticConsistency, TranslationFID,
                      TranslationMAE, TranslationPSNR, TranslationSSIM,
                      TranslationSWD)

__all__ = [
    'LPIPSDiversity', 'StyleSemanticConsistency', 'TranslationFID',
    'TranslationMAE', 'TranslationPSNR', 'TranslationSSIM', 'TranslationSWD'
]
