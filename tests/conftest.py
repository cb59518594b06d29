import pytest
import torch

import mclnet_plugin  # noqa: F401  (registers the plugin's modules)


@pytest.fixture(autouse=True)
def _deterministic():
    torch.manual_seed(0)
    yield
