import pytest
import torch
from mmengine.registry import init_default_scope

import mclnet_plugin  # noqa: F401  (registers the plugin's modules)

# As in a Runner built from our configs: names resolve in MMagic's registries.
init_default_scope('mmagic')


@pytest.fixture(autouse=True)
def _deterministic():
    torch.manual_seed(0)
    yield
