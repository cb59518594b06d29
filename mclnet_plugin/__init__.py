"""MCL-Net for MMagic: importing this package registers every component in
MMagic's registries (``mmagic.registry.MODELS``, ...)."""
from . import compat

compat.install()

from . import (apis, datasets, engine, evaluation, models,  # noqa: E402,F401
               visualization)
from .version import __version__  # noqa: E402

__all__ = ['__version__']
