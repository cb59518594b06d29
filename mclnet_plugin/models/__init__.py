from .condition_data_preprocessor import ConditionDataPreprocessor
from .correspondence import cosine_softmax_warp, cosine_softmax_warp_back
from .correspondence_generator import CorrespondenceGenerator
from .correspondence_net import CorrespondenceNet
from .encoders import CorrespondenceEncoder
from .losses import (ContextualLoss, DiscFeatureMatchingLoss,
                     MarginalContrastiveLoss, VGGFeatureLoss)
from .mclnet import MCLNet
from .multiscale_discriminator import MultiScaleDiscriminator
from .self_correlation_map import SelfCorrelationMap
from .spade_generator import SPADEGenerator
from .spade_modules import SPADE, SelfAttention, SPADEResBlock
from .vgg19 import VGG19FeatureExtractor, find_vgg19_weights

__all__ = [
    'ConditionDataPreprocessor', 'ContextualLoss', 'CorrespondenceEncoder',
    'CorrespondenceGenerator', 'CorrespondenceNet', 'DiscFeatureMatchingLoss',
    'MCLNet',
    'MarginalContrastiveLoss', 'MultiScaleDiscriminator', 'SPADE',
    'SPADEGenerator', 'SPADEResBlock', 'SelfAttention', 'SelfCorrelationMap',
    'VGG19FeatureExtractor', 'VGGFeatureLoss', 'cosine_softmax_warp',
    'cosine_softmax_warp_back', 'find_vgg19_weights'
]
