from .runner_config import load_runner_config, setup_cpu_distributed

__all__ = ['load_runner_config', 'setup_cpu_distributed']
