import importlib

import torch.nn as nn
from mmagic.models.editors.pix2pix import pix2pix_generator
from mmagic.models.utils import model_utils
from mmagic.registry import MODELS

from mclnet_plugin import compat


def test_generation_init_weights_is_replaced_everywhere():
    assert pix2pix_generator.generation_init_weights is (
        compat.generation_init_weights)
    assert model_utils.generation_init_weights is (
        compat.generation_init_weights)
    compat.install()  # idempotent
    assert pix2pix_generator.generation_init_weights is (
        compat.generation_init_weights)


def test_mmagic_pix2pix_init_weights_runs():
    """MMagic #2109: UnboundLocalError 'init_info' without workaround 4."""
    model = MODELS.build(
        dict(type='Pix2Pix',
             data_preprocessor=dict(type='DataPreprocessor'),
             generator=dict(type='UnetGenerator', in_channels=3,
                            out_channels=3, num_down=3, base_channels=4,
                            init_cfg=dict(type='normal', gain=0.02)),
             discriminator=dict(type='PatchDiscriminator', in_channels=6,
                                base_channels=4, num_conv=2,
                                init_cfg=dict(type='normal', gain=0.02)),
             default_domain='photo', reachable_domains=['photo'],
             related_domains=['photo', 'mask']))
    model.init_weights()
    conv = next(m for m in model.generators['photo'].modules()
                if isinstance(m, nn.Conv2d))
    assert abs(conv.weight.std().item() - 0.02) < 0.01
    bn = next(m for m in model.generators['photo'].modules()
              if isinstance(m, nn.BatchNorm2d))
    assert abs(bn.weight.mean().item() - 1.0) < 0.05


def test_mmagic_apis_imports():
    apis = importlib.import_module('mmagic.apis')
    assert hasattr(apis, 'MMagicInferencer')


def test_start_up_prints_no_upstream_future_warnings():
    """Workaround 6: importing the plugin (which imports mmagic.models,
    transformers and diffusers) prints no FutureWarning."""
    import subprocess
    import sys
    result = subprocess.run(
        [sys.executable, '-W', 'default', '-c', 'import mclnet_plugin'],
        capture_output=True,
        text=True,
        timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'FutureWarning' not in result.stderr, result.stderr[-2000:]
    # the filter is that message only
    import warnings
    with warnings.catch_warnings(record=True) as caught:
        compat.install()
        warnings.simplefilter('default')
        compat.install()
        warnings.warn('another deprecation', FutureWarning)
    assert [str(w.message) for w in caught] == ['another deprecation']
