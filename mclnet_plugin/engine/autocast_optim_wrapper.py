"""Mixed-precision training without loss scaling, on any device."""
from contextlib import contextmanager
from typing import Union

import torch
import torch.nn as nn
from mmagic.registry import OPTIM_WRAPPERS
from mmengine.optim import OptimWrapper

DTYPES = ('bfloat16', 'float16')


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """An ``OptimWrapper`` whose forward runs under ``torch.autocast``.

    MMEngine's ``AmpOptimWrapper`` refuses to run without a GPU (it is
    built around CUDA's fp16 gradient scaler). bf16 has fp32's exponent
    range, so its gradients need no scaling: this wrapper only autocasts,
    on the device the model's parameters are on (CPUs with AVX512-BF16 or
    AMX run bf16 matmuls and convolutions several times faster than fp32).
    The parts of MCL-Net that need fp32 (the correspondence softmax, the
    marginal contrastive and contextual losses) turn autocast off
    themselves. fp16 is accepted for completeness but without a scaler its
    small gradients underflow: on GPUs use ``AmpOptimWrapper``
    (``tools/train.py --amp`` picks it there).

    Args:
        dtype: 'bfloat16' (default) or 'float16'.
        **kwargs: ``OptimWrapper``'s arguments.
    """

    def __init__(self, dtype: Union[str, torch.dtype] = 'bfloat16',
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if isinstance(dtype, torch.dtype):
            dtype = str(dtype).replace('torch.', '')
        if dtype not in DTYPES:
            raise ValueError(f'AutocastOptimWrapper: dtype must be one of '
                             f'{DTYPES}, got {dtype!r}')
        self.cast_dtype = getattr(torch, dtype)

    @contextmanager
    def optim_context(self, model: nn.Module):
        """``OptimWrapper``'s context plus autocast to ``dtype``."""
        param = next(model.parameters(), None)
        device = param.device.type if param is not None else 'cpu'
        with super().optim_context(model), torch.autocast(
                device_type=device, dtype=self.cast_dtype):
            yield
