"""Runner configs from the command line, and distributed training without
GPUs (gloo), for CPU clusters and CI."""
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

    Applies ``--cfg-options``, the launcher and the work dir (default
    ``./work_dirs/<config name>``), then ``setup_cpu_distributed``.
    """
    if not osp.isfile(config):
        raise FileNotFoundError(f'config file {config} does not exist')
    cfg = Config.fromfile(config)
    if cfg_options is not None:
        cfg.merge_from_dict(cfg_options)
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config))[0])
    setup_cpu_distributed(cfg)
    return cfg


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
