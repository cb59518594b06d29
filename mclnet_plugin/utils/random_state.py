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
    states = random.getstate(), np.random.get_state(), torch.get_rng_state()
    cuda = torch.cuda.is_available() and torch.cuda.is_initialized()
    cuda_states = torch.cuda.get_rng_state_all() if cuda else None
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    try:
        yield
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.set_rng_state(states[2])
        if cuda:
            torch.cuda.set_rng_state_all(cuda_states)
