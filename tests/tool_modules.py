"""Import a script under tools/ as a module, to call its functions, or run
a tools/ command line."""
import importlib.util
import os
import subprocess
import sys
from types import ModuleType

from tests.tiny_configs import REPO


def load_tool(relative_path: str) -> ModuleType:
    path = REPO / 'tools' / relative_path
    name = path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_command(cmd, **env) -> subprocess.CompletedProcess:
    """Runs ``cmd`` in the repository; asserts it succeeds."""
    result = subprocess.run(
        cmd,
        cwd=REPO,
        # tools/*.sh call `python`: the interpreter running the tests
        env=dict(
            os.environ,
            PATH=os.pathsep.join(
                [os.path.dirname(sys.executable), os.environ['PATH']]),
            PYTHONUNBUFFERED='1',
            **env),
        capture_output=True,
        text=True,
        timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result
