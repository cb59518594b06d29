from .correspondence import cosine_softmax_warp, cosine_softmax_warp_back
from .correspondence_net import CorrespondenceNet
from .encoders import CorrespondenceEncoder
from .losses import MarginalContrastiveLoss
from .self_correlation_map import SelfCorrelationMap

__all__ = [
    'CorrespondenceEncoder', 'CorrespondenceNet', 'MarginalContrastiveLoss',
    'SelfCorrelationMap', 'cosine_softmax_warp', 'cosine_softmax_warp_back'
]
