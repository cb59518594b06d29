from .cpu_allocator import keep_freed_memory
from .runner_config import load_runner_config, setup_cpu_distributed

__all__ = ['keep_freed_memory', 'load_runner_config', 'setup_cpu_distributed']
