from .mclnet_inferencer import MCLNetInferencer
from .pose_estimation import build_estimate_fn

__all__ = ['MCLNetInferencer', 'build_estimate_fn']
