from .marginal_contrastive_loss import (MarginalContrastiveLoss,
                                        additive_angular_margin,
                                        marginal_contrastive_loss)

__all__ = [
    'MarginalContrastiveLoss', 'additive_angular_margin',
    'marginal_contrastive_loss'
]
