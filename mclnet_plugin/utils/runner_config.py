"""Runner configs from the command line, and distributed training without
GPUs (gloo), for CPU clusters and CI."""
import gc
import os.path as osp
from typing import Optional

import torch
import torch.distributed as dist
from mmengine.config import Config


def load_runner_config(config: str,
                       cfg_options: Optional[dict] = None,
                       launcher: str = 'none',
                       work_dir: Optional[str] = None) -> Config:
    """The config as tools/train.py and tools/test.py use it.

    Applies ``--cfg-options`` (:func:`merge_options`), the launcher and the
    work dir (default ``./work_dirs/<config name>``), turns off
    ``persistent_workers`` of dataloaders without workers (PyTorch refuses
    the pair), then ``setup_cpu_distributed``.
    """
    if not osp.isfile(config):
        raise FileNotFoundError(f'config file {config} does not exist')
    cfg = Config.fromfile(config)
    if cfg_options is not None:
        merge_options(cfg, cfg_options)
    for loader in LOADERS:
        if cfg.get(loader) and not cfg[loader].get('num_workers', 0):
            cfg[loader].persistent_workers = False
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config))[0])
    setup_cpu_distributed(cfg)
    return cfg


LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def merge_options(cfg: Config, options: dict) -> None:
    """``cfg.merge_from_dict(options)`` with what a config's variables mean
    carried through, which a plain merge loses (the variables were
    substituted when the file was read):

    - ``data_root=PATH`` sets every dataloader's dataset root that was the
      config's ``data_root`` (unless that loader's root is set too);
    - a ``val_dataloader.*`` option also applies to ``test_dataloader`` when
      the config made them the same (``test_dataloader = val_dataloader``)
      and the option does not name ``test_dataloader`` itself.
    """
    test_is_val = cfg.get('val_dataloader') is not None and \
        cfg.get('test_dataloader') == cfg.get('val_dataloader')
    config_root = cfg.get('data_root')
    options = dict(options)
    if test_is_val:
        for key, value in list(options.items()):
            if key.startswith('val_dataloader.'):
                options.setdefault('test' + key[len('val'):], value)
    if 'data_root' in options:
        roots = {
            f'{loader}.{path}': root
            for loader in LOADERS if cfg.get(loader)
            for path, root in _dataset_roots(cfg[loader].get('dataset'))
        }
        moved = [
            key for key, root in roots.items()
            if root == config_root and key not in options
        ]
        if not moved:
            raise ValueError(
                f'data_root={options["data_root"]!r}: no dataloader of this '
                f'config reads the config\'s data_root ({config_root!r}); '
                'set <loader>.dataset.data_root instead')
        options.update(dict.fromkeys(moved, options['data_root']))
    cfg.merge_from_dict(options)


def _dataset_roots(dataset, path: str = 'dataset'):
    """(dotted path, root) of every ``data_root`` in a dataloader's dataset
    config, wrapped datasets (``dataset=dict(dataset=...)``) included."""
    if not isinstance(dataset, dict):
        return
    if 'data_root' in dataset:
        yield f'{path}.data_root', dataset['data_root']
    yield from _dataset_roots(dataset.get('dataset'), f'{path}.dataset')


def setup_cpu_distributed(cfg: Config) -> bool:
    """Start a gloo process group when launched distributed on a CPU machine.

    mmengine's ``init_dist`` calls ``torch.cuda.set_device`` and so fails
    without a GPU. When ``cfg.launcher`` is not 'none' and CUDA is not
    available, the process group is started here from the launcher's
    environment (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT, as set by
    torchrun or tools/dist_train.sh); the Runner then finds it initialised
    and skips its own. The config is adapted: gloo backend, and DDP wrappers
    without ``device_ids`` (CPU modules).

    Returns:
        Whether a CPU process group was started.
    """
    if cfg.get('launcher', 'none') == 'none' or torch.cuda.is_available():
        return False
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    cfg.setdefault('env_cfg', {})
    cfg.env_cfg['dist_cfg'] = dict(backend='gloo')
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel')
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    return True


def end_distributed() -> None:
    """Free the finished run, wait for every rank, then take the process
    group down.

    Called by the tools when their work is done. A process that exits with
    its gloo group still up can abort in the group's destructor
    ("terminate called without an active exception", exit -6) while
    another rank is still talking to it; with the barrier no rank leaves
    before all are done. The runner a tool has returned from is garbage in
    reference cycles, and its DDP wrapper's reducer holds the group: left
    to the interpreter's shutdown, the group is destroyed there, where it
    aborted about one distributed run in 40 on 2 CPU cores. Collecting it
    first destroys the group here, while the interpreter is whole. Does
    nothing outside a distributed run.
    """
    if dist.is_available() and dist.is_initialized():
        gc.collect()
        dist.barrier()
        dist.destroy_process_group()
