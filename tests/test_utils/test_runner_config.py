"""load_runner_config: --cfg-options as users write them reach every
dataloader the config means."""
import pytest

from mclnet_plugin.utils import load_runner_config
from tests.tiny_configs import REPO

ADE20K = str(REPO / 'configs' / 'mclnet_ade20k.py')
DEMO = str(REPO / 'configs' / 'mclnet_demo.py')
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def roots(cfg):
    return [cfg[loader].dataset.data_root for loader in LOADERS]


def test_one_data_root_option_reaches_all_three_loaders(tmp_path):
    default = load_runner_config(ADE20K, work_dir=str(tmp_path))
    assert roots(default) == ['data/ADEChallengeData2016'] * 3

    cfg = load_runner_config(ADE20K, {'data_root': '/data/ade'})
    assert roots(cfg) == ['/data/ade'] * 3
    assert cfg.data_root == '/data/ade'

    # a loader's own root, given with it, wins
    cfg = load_runner_config(ADE20K, {
        'data_root': '/data/ade',
        'test_dataloader.dataset.data_root': '/elsewhere'
    })
    assert roots(cfg) == ['/data/ade', '/data/ade', '/elsewhere']


def test_val_options_carry_to_the_test_loader_the_config_made_equal():
    cfg = load_runner_config(ADE20K, {
        'val_dataloader.dataset.data_root': '/val',
        'val_dataloader.batch_size': 1
    })
    assert roots(cfg) == ['data/ADEChallengeData2016', '/val', '/val']
    assert cfg.test_dataloader.batch_size == 1
    cfg = load_runner_config(ADE20K, {
        'val_dataloader.dataset.data_root': '/val',
        'test_dataloader.dataset.data_root': '/test'
    })
    assert roots(cfg)[1:] == ['/val', '/test']


def test_data_root_for_a_config_without_one_is_an_error():
    with pytest.raises(ValueError, match="data_root='/x': no dataloader"):
        load_runner_config(DEMO, {'data_root': '/x'})


def test_no_workers_means_no_persistent_workers():
    cfg = load_runner_config(ADE20K, {'train_dataloader.num_workers': 0})
    assert cfg.train_dataloader.persistent_workers is False
    assert cfg.val_dataloader.persistent_workers is True
    cfg = load_runner_config(ADE20K, {'val_dataloader.num_workers': 0})
    assert cfg.test_dataloader.persistent_workers is False
    assert cfg.train_dataloader.persistent_workers is True


def test_end_distributed_takes_the_process_group_down(tmp_path):
    import torch.distributed as dist

    from mclnet_plugin.utils import end_distributed
    end_distributed()  # no group: nothing to do
    dist.init_process_group(
        'gloo', init_method=f'file://{tmp_path / "store"}', rank=0,
        world_size=1)
    assert dist.is_initialized()
    end_distributed()
    assert not dist.is_initialized()


def test_end_distributed_frees_the_finished_run_before_the_group(tmp_path):
    """A runner left in reference cycles holds the group through its DDP
    wrapper; end_distributed frees it while the group is still up."""
    import gc
    import weakref

    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    from mclnet_plugin.utils import end_distributed
    dist.init_process_group(
        'gloo', init_method=f'file://{tmp_path / "store"}', rank=0,
        world_size=1)
    was_enabled = gc.isenabled()
    gc.disable()  # only end_distributed may collect the cycle
    try:
        run = dict(model=DistributedDataParallel(torch.nn.Linear(2, 2)))
        run['self'] = run
        model = weakref.ref(run['model'])
        del run
        assert model() is not None
        end_distributed()
        assert model() is None
        assert not dist.is_initialized()
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
        if was_enabled:
            gc.enable()
