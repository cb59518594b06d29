"""Import a script under tools/ as a module, to call its functions."""
import importlib.util
from types import ModuleType

from tests.tiny_configs import REPO


def load_tool(relative_path: str) -> ModuleType:
    path = REPO / 'tools' / relative_path
    name = path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
