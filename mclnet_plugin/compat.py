"""Every workaround for an upstream packaging problem lives here.

``install()`` runs once, when ``mclnet_plugin`` is imported: 1-3 before any
MMagic model module is imported, then it imports ``mmagic.models`` for 4.

1. ``mmcv._ext`` for mmcv-lite.
   Upstream: mmagic 1.2.0's ``mmagic/models/__init__.py`` imports every
   editor, and several (EDVR, TDAN, BasicVSR++, StyleGAN2, ...) import
   ``mmcv.ops`` at module level, which needs the compiled ``mmcv._ext``.
   ``mmcv-lite`` (the pure-Python build, installable in seconds) has no
   ``_ext``, so ``import mmagic.models`` - and therefore every Runner built
   with ``default_scope='mmagic'`` - fails with
   ``ModuleNotFoundError: No module named 'mmcv._ext'``.
   Workaround: a meta-path finder placed *after* the normal finders supplies
   a stand-in ``mmcv._ext`` only when the real one cannot be found. Each
   attribute of the stand-in is a function that raises ``NotImplementedError``
   naming the op, so nothing silently computes a wrong result; MCL-Net calls
   no mmcv op. With the compiled mmcv installed the finder never fires.
   Remove when mmagic imports ``mmcv.ops`` lazily (or mmcv-lite ships stubs).

2. Resuming on torch >= 2.6.
   Upstream: mmengine 0.10.7 loads local checkpoints with a bare
   ``torch.load(filename, map_location=...)``; since torch 2.6 that means
   ``weights_only=True``, which refuses the ``HistoryBuffer`` and numpy
   objects of the message hub saved in every checkpoint, so ``--resume``
   fails with "Weights only load failed".
   Workaround: the local-file scheme of mmengine's ``CheckpointLoader`` is
   re-registered to pass ``weights_only=False``, which restores the
   torch < 2.6 behaviour for checkpoints given by path (load only files you
   trust, as with any pickle). URLs and other schemes are untouched.
   Remove when mmengine passes ``weights_only`` itself (mmengine > 0.10.7).

3. albumentations' update check.
   Upstream: albumentations 1.4.x (imported by mmagic's datasets) asks PyPI
   for a newer version at import, which hangs or warns without a network.
   Workaround: ``NO_ALBUMENTATIONS_UPDATE=1`` unless the user set it.
   Remove when mmagic stops importing albumentations eagerly.

4. ``UnboundLocalError: 'init_info'`` in ``init_weights`` (MMagic #2109).
   Upstream: mmagic 1.2.0's ``generation_init_weights`` (used by the
   Pix2Pix and CycleGAN generators and the Patch discriminators) applies an
   ``init_func`` to every submodule that binds ``init_info`` only for
   Conv/Linear/BatchNorm2d modules, yet calls ``update_init_info`` for every
   module carrying ``_params_init_info``. ``BaseTranslationModel.init_weights``
   gives that attribute to each generator and discriminator, which are none
   of those types, so ``Runner.train()`` of MMagic's own Pix2Pix/CycleGAN
   configs fails with ``UnboundLocalError``.
   Workaround: ``generation_init_weights`` below initialises the same
   modules the same way and records ``init_info`` only for modules it
   initialised; it replaces the upstream function in every ``mmagic``
   module that imported it (the upstream source is untouched).
   Remove when mmagic fixes #2109 (mmagic > 1.2.0).

5. ``import mmagic.apis`` needs ``controlnet_aux``.
   Upstream: ``mmagic/apis/inferencers/__init__.py`` imports the ControlNet
   animation inferencer, which imports ``controlnet_aux`` at module level,
   although mmagic does not require it. Workaround: none in code;
   ``requirements/lock.txt`` pins ``controlnet_aux`` and its one missing
   dependency ``timm`` (both pure Python). Remove the pins when mmagic
   imports it lazily.

6. FutureWarnings at every start.
   Upstream: transformers 4.36 and diffusers 0.24 (imported by
   ``mmagic.models``) call torch's deprecated
   ``torch.utils._pytree._register_pytree_node`` at import, so every tool
   and test run starts with several lines of FutureWarning about code that
   is not ours and that users cannot act on.
   Workaround: exactly that deprecation message is filtered, set before
   ``mmagic.models`` is imported here; other warnings are untouched.
   Remove when the pinned transformers/diffusers use the public
   ``register_pytree_node``.
"""
import importlib.abc
import importlib.machinery
import os
import os.path as osp
import sys
import types
import warnings

PYTREE_DEPRECATION = (r'`torch\.utils\._pytree\._register_pytree_node` is '
                      r'deprecated')


def quiet_upstream_warnings() -> None:
    """Workaround 6; runs before this module imports mmengine, which
    imports transformers."""
    warnings.filterwarnings(
        'ignore', message=PYTREE_DEPRECATION, category=FutureWarning)


quiet_upstream_warnings()

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
from mmengine.model.weight_init import (kaiming_init, normal_init,  # noqa
                                        update_init_info, xavier_init)
from mmengine.runner.checkpoint import CheckpointLoader  # noqa: E402

_STUB_NAME = 'mmcv._ext'


class _MissingMMCVOp:
    """A compiled mmcv op that mmcv-lite does not have."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, *args, **kwargs):
        raise NotImplementedError(
            f'mmcv op `{self.name}` needs the compiled mmcv, but mmcv-lite is '
            'installed. MCL-Net does not use it; if another OpenMMLab model '
            'does, reinstall with MCLNET_MMCV=full bash scripts/install.sh.')


class _MMCVExtStub(types.ModuleType):
    """Stand-in for ``mmcv._ext`` whose members raise when called."""

    is_mclnet_stub = True

    def __getattr__(self, name: str) -> _MissingMMCVOp:
        if name.startswith('__'):
            raise AttributeError(name)
        return _MissingMMCVOp(name)


class _MMCVExtStubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``mmcv._ext`` only after every real finder has failed."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != _STUB_NAME:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec):
        return _MMCVExtStub(spec.name)

    def exec_module(self, module):
        pass


def mmcv_ops_are_stubbed() -> bool:
    """Whether ``mmcv._ext`` is our stand-in (mmcv-lite) or the real one."""
    try:
        ext = importlib.import_module(_STUB_NAME)
    except ImportError:
        return False
    return getattr(ext, 'is_mclnet_stub', False)


def load_local_checkpoint(filename: str, map_location=None) -> dict:
    """mmengine's local checkpoint loader, with ``weights_only=False``."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} can not be found.')
    return torch.load(filename, map_location=map_location, weights_only=False)


def generation_init_weights(module: nn.Module,
                            init_type: str = 'normal',
                            init_gain: float = 0.02) -> None:
    """mmagic's ``generation_init_weights`` without MMagic #2109."""

    def init_func(m: nn.Module) -> None:
        classname = m.__class__.__name__
        if hasattr(m, 'weight') and ('Conv' in classname
                                     or 'Linear' in classname):
            if init_type == 'normal':
                normal_init(m, 0.0, init_gain)
            elif init_type == 'xavier':
                xavier_init(m, gain=init_gain, distribution='normal')
            elif init_type == 'kaiming':
                kaiming_init(m, a=0, mode='fan_in',
                             nonlinearity='leaky_relu',
                             distribution='normal')
            elif init_type == 'orthogonal':
                nn.init.orthogonal_(m.weight, gain=init_gain)
                nn.init.constant_(m.bias.data, 0.0)
            else:
                raise NotImplementedError(
                    f"Initialization method '{init_type}' is not implemented")
            init_info = (f'Initialize {classname} by \'init_type\' '
                         f'{init_type}.')
        elif 'BatchNorm2d' in classname:
            normal_init(m, 1.0, init_gain)
            init_info = (f'{classname} is BatchNorm2d, initialize by Norm '
                         f'initialization with mean=1, std={init_gain}')
        else:
            return
        if hasattr(m, '_params_init_info'):
            update_init_info(m, init_info)

    module.apply(init_func)


def fix_generation_init_weights() -> None:
    """Point every loaded ``mmagic`` module at ``generation_init_weights``
    above instead of the upstream one (workaround 4)."""
    from mmagic.models.utils import model_utils
    upstream = getattr(model_utils, 'upstream_generation_init_weights',
                       model_utils.generation_init_weights)
    model_utils.upstream_generation_init_weights = upstream
    for name, mod in list(sys.modules.items()):
        if (name.split('.')[0] == 'mmagic' and getattr(
                mod, 'generation_init_weights', None) is upstream):
            mod.generation_init_weights = generation_init_weights


def install() -> None:
    """Apply the workarounds above; safe to call more than once."""
    os.environ.setdefault('NO_ALBUMENTATIONS_UPDATE', '1')
    quiet_upstream_warnings()
    if not any(isinstance(f, _MMCVExtStubFinder) for f in sys.meta_path):
        sys.meta_path.append(_MMCVExtStubFinder())
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_local_checkpoint, force=True)
    fix_generation_init_weights()
