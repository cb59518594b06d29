"""Every workaround for an upstream packaging problem lives here.

``install()`` runs once, when ``mclnet_plugin`` is imported, before any
MMagic model module is imported.

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
"""
import importlib.abc
import importlib.machinery
import os
import os.path as osp
import sys
import types

import torch
from mmengine.runner.checkpoint import CheckpointLoader

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


def install() -> None:
    """Apply the workarounds above; safe to call more than once."""
    os.environ.setdefault('NO_ALBUMENTATIONS_UPDATE', '1')
    if not any(isinstance(f, _MMCVExtStubFinder) for f in sys.meta_path):
        sys.meta_path.append(_MMCVExtStubFinder())
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_local_checkpoint, force=True)
