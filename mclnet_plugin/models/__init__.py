from .condition_data_preprocessor import ConditionDataPreprocessor
from .correspondence import (cosine_softmax_warp, cosine_softmax_warp_back,
                             neighbourhood_softmax_warp)
from .correspondence_generator import CorrespondenceGenerator
from .correspondence_net import CorrespondenceNet
from .encoders import CorrespondenceEncoder
from .gen_auxiliary_losses import (GenAuxiliaryLossMixin,
                                   check_auxiliary_losses_are_called,
                                   install_auxiliary_loss_check)
from .losses import (ContextualLoss, DiscFeatureMatchingLoss,
                     MarginalContrastiveLoss, PatchMarginalContrastiveLoss,
                     VGGFeatureLoss)
from .matching import MatchingHead, neighbourhood_vectors
from .mclnet import MCLNet
from .multiscale_discriminator import MultiScaleDiscriminator
from .neighbourhood_similarity import neighbourhood_cosine
from .self_correlation_map import SelfCorrelationMap
from .spade_generator import SPADEGenerator
from .spade_modules import SPADE, SPADEResBlock
from .translation_with_aux_loss import CycleGANWithAuxLoss, Pix2PixWithAuxLoss
from .vgg19 import VGG19FeatureExtractor, find_vgg19_weights

install_auxiliary_loss_check()

__all__ = [
    'ConditionDataPreprocessor', 'ContextualLoss', 'CorrespondenceEncoder',
    'CorrespondenceGenerator', 'CorrespondenceNet', 'CycleGANWithAuxLoss',
    'DiscFeatureMatchingLoss', 'GenAuxiliaryLossMixin', 'MCLNet',
    'MatchingHead', 'neighbourhood_vectors',
    'MarginalContrastiveLoss', 'MultiScaleDiscriminator',
    'PatchMarginalContrastiveLoss', 'Pix2PixWithAuxLoss', 'SPADE',
    'SPADEGenerator', 'SPADEResBlock', 'SelfCorrelationMap',
    'VGG19FeatureExtractor', 'VGGFeatureLoss', 'cosine_softmax_warp',
    'check_auxiliary_losses_are_called', 'cosine_softmax_warp_back',
    'find_vgg19_weights', 'install_auxiliary_loss_check',
    'neighbourhood_cosine', 'neighbourhood_softmax_warp'
]
