from .contextual_loss import ContextualLoss, contextual_similarity
from .feature_matching_loss import DiscFeatureMatchingLoss
from .marginal_contrastive_loss import (MarginalContrastiveLoss,
                                        additive_angular_margin,
                                        marginal_contrastive_loss)
from .patch_marginal_contrastive_loss import (PatchMarginalContrastiveLoss,
                                              layer_features)
from .perceptual_loss import VGGFeatureLoss

__all__ = [
    'ContextualLoss', 'DiscFeatureMatchingLoss', 'MarginalContrastiveLoss',
    'PatchMarginalContrastiveLoss', 'VGGFeatureLoss',
    'additive_angular_margin', 'contextual_similarity', 'layer_features',
    'marginal_contrastive_loss'
]
