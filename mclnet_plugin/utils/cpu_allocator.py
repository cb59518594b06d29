"""Keep freed CPU memory for reuse instead of returning it to the system.

PyTorch's CPU tensors come from glibc's ``malloc``. glibc serves blocks of
32 MiB and more with ``mmap`` and unmaps them on ``free``, and gives the top
of its heap back when it is free; a training step allocates and frees
gigabytes of activations, so every step maps fresh pages again, and the
kernel faults them in and zeroes them one 4 KiB page at a time. On our
2-core machine that made an MCL-Net step at 256×256 1.8× slower (24 s
against 13 s, the kernel's share of the CPU time 25 s → 12 s over 3 steps;
docs/benchmarks.md).
``keep_freed_memory`` turns both off (``mallopt``), so after the first step
the heap holds the step's peak and later steps reuse it. The process's
resident memory then stays at its peak instead of falling between steps.
"""
import ctypes
import ctypes.util
import platform

# mallopt parameters (malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
NEVER_TRIM = 2**31 - 1  # bytes; mallopt takes an int


def keep_freed_memory() -> bool:
    """Serve all allocations from glibc's heap and never trim it.

    Returns False (and changes nothing) where the C library is not glibc.
    """
    if platform.system() != 'Linux' or platform.libc_ver()[0] != 'glibc':
        return False
    libc = ctypes.CDLL(ctypes.util.find_library('c'))
    return bool(libc.mallopt(M_MMAP_MAX, 0)) and bool(
        libc.mallopt(M_TRIM_THRESHOLD, NEVER_TRIM))
