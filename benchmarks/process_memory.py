"""Resident memory of this process, for the benchmarks' memory runs (Linux;
no project imports, so a benchmark can measure an older commit's code)."""


def rss_kib(field: str) -> int:
    """``VmRSS`` (current) or ``VmHWM`` (peak) of this process, in KiB.

    ``VmHWM`` rather than ``ru_maxrss``: the latter also keeps the peak
    recorded when any thread exits, which ``clear_refs`` does not reset.
    """
    with open('/proc/self/status') as status:
        for line in status:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise RuntimeError(f'no {field} in /proc/self/status')


def reset_rss_peak() -> None:
    """Reset ``VmHWM`` to the current RSS (Linux >= 4.0)."""
    with open('/proc/self/clear_refs', 'w') as clear_refs:
        clear_refs.write('5')
