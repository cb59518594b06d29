"""Running code under its own seed without moving the caller's random
streams."""
import random
from contextlib import contextmanager
from typing import Iterator

import numpy as np
import torch


@contextmanager
def separate_random_streams(seed: int) -> Iterator[None]:
    """Seeds Python's, NumPy's and torch's generators (CUDA's too when
    initialised) with ``seed`` for the block and restores their states
    afterwards, so the block's random draws are reproducible and the
    caller's streams continue as if it had not run."""
    states = random.getstate(), np.random.get_state()
    # torch's own fork: the CPU generator and those of the CUDA devices
    # (only when CUDA is in use: reading them would initialise it)
    cuda = torch.cuda.is_available() and torch.cuda.is_initialized()
    devices = range(torch.cuda.device_count()) if cuda else []
    with torch.random.fork_rng(devices=devices):
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        try:
            yield
        finally:
            random.setstate(states[0])
            np.random.set_state(states[1])
