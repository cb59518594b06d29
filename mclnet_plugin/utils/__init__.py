from .checkpoint_files import check_checkpoint_file
from .cpu_allocator import keep_freed_memory
from .random_state import separate_random_streams
from .runner_config import (end_distributed, load_runner_config,
                            setup_cpu_distributed)

__all__ = [
    'check_checkpoint_file', 'end_distributed', 'keep_freed_memory',
    'load_runner_config', 'separate_random_streams', 'setup_cpu_distributed'
]
