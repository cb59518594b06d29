import platform
import subprocess
import sys

import pytest

CHILD = '''
import sys
import torch
from mclnet_plugin.utils import keep_freed_memory


def rss_mib():
    with open('/proc/self/status') as status:
        line = next(line for line in status if line.startswith('VmRSS:'))
    return int(line.split()[1]) / 1024


if sys.argv[1] == 'keep':
    assert keep_freed_memory()
before = rss_mib()
block = torch.ones(64 * 2**20 // 4)  # 64 MiB, pages touched
del block
print(rss_mib() - before)
'''


def retained_mib(mode: str) -> float:
    done = subprocess.run([sys.executable, '-c', CHILD, mode],
                          capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(platform.libc_ver()[0] != 'glibc',
                    reason='mallopt is glibc')
def test_freed_memory_is_kept_for_reuse_only_when_asked():
    # glibc unmaps a freed 64 MiB block at once ...
    assert retained_mib('system') < 16
    # ... and keeps it in its heap after keep_freed_memory()
    assert retained_mib('keep') > 60
