"""What an autograd graph keeps for backward, for the memory tests."""
from typing import Callable

import torch


def saved_bytes(forward: Callable[[], object]) -> int:
    """Bytes of the distinct storages that ``forward()`` saves for
    backward."""
    storages = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        forward()
    return sum(storages.values())
