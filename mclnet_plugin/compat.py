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
"""
import importlib.abc
import importlib.machinery
import sys
import types

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


def install() -> None:
    """Apply the workarounds above; safe to call more than once."""
    if not any(isinstance(f, _MMCVExtStubFinder) for f in sys.meta_path):
        sys.meta_path.append(_MMCVExtStubFinder())
