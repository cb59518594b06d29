"""Benchmark the O(N²) parts of MCL-Net: naive vs memory-efficient forms.

Forward + backward time and peak extra memory (fp32, batch 1, CPU) of the
self-correlation map, the cosine-softmax warp and the marginal contrastive
loss, each naive and in the form the plugin uses; every case runs in fresh
subprocesses, one at a time. See docs/benchmarks.md.

  python benchmarks/bench_correspondence.py [--sizes 1024 4096 16384]
      [--repeats 3] [--big-repeats 1] [--threads 2]
      [--components SCM warp 3x3-warp MCL] [--chunk-rows R] [--out FILE]

--sizes: numbers of positions N (perfect squares); --repeats: timed runs
per case (the best is reported); --big-repeats: the same at N >= 16384.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import torch
import torch.nn.functional as F
from process_memory import reset_rss_peak, rss_kib

from mclnet_plugin.models import MarginalContrastiveLoss, SelfCorrelationMap
from mclnet_plugin.models.correspondence import (DEFAULT_CHUNK_ELEMENTS,
                                                 MIN_CHUNK_QUERIES,
                                                 auto_chunk_size,
                                                 cosine_softmax_warp,
                                                 neighbourhood_softmax_warp)
from mclnet_plugin.models.matching import neighbourhood_vectors

CHANNELS = 256  # encoder feature channels C
SCM_CHANNELS = 256  # SCM fc output channels
TEMPERATURE = 0.01  # warp softmax temperature
BUDGET = DEFAULT_CHUNK_ELEMENTS  # matrix elements per chunk (warp default)
INTRO = '''# Correspondence benchmarks

Forward + backward, fp32, batch 1, C = 256, N = H·W on square grids:

* SCM: naive (N×N self-correlation of the L2-normalised features, then
  `fc`) vs factored `SelfCorrelationMap` (`x̂ᵢᵀ(X̂Wᵀ) + b`), same `fc`;
* warp: materialised `softmax(q̂k̂ᵀ / 0.01) @ v` vs `cosine_softmax_warp`
  (automatic chunk: {budget} matrix elements but at least {min_rows}
  queries, recomputed in backward);
  query/key (1, N, 512) (256 encoder + 256 SCM channels), value (1, N, 3);
* 3x3-warp: the configs' matching, each position's 3×3 neighbourhood of
  512-channel matching features (1, 512, √N, √N) as one 4608-wide centred,
  normalised vector: materialised (unfolded vectors, full matrix, softmax,
  bmm) vs `neighbourhood_softmax_warp` (512-wide Gram matrix summed over
  the 9 aligned shifts, chunks of whole rows recomputed in backward);
  value (1, N, 3);
* MCL: `MarginalContrastiveLoss` (bidirectional, margin 0.4, temperature
  0.05) with `chunk_size=None` vs the warp's automatic chunk
  (`auto_chunk_size(N)`; at N ≤ {unchunked} that is ≥ N, i.e. no chunking).

Each case runs in fresh subprocesses, one case at a time. Memory run:
inputs are built, one full-size forward + backward runs as a warm-up (so
one-time library buffers are not counted), the RSS peak is reset
(`/proc/self/clear_refs`), one more forward + backward runs, and the peak
extra memory is `VmHWM` (peak RSS, `/proc/self/status`) minus the RSS at
the reset, in MiB (not `ru_maxrss`: it also keeps the peak recorded when a
thread exits, which the reset does not clear). It runs with
`MALLOC_MMAP_THRESHOLD_=65536`, so glibc unmaps freed blocks and RSS follows
the live tensors rather than what the heap keeps. Timing run (default
allocator): one warm-up, then the best of {repeats} runs (N ≥ 16384: best
of {big}). Both set `OMP_WAIT_POLICY=PASSIVE` unless it is set: on the
2-vCPU VM below, spinning OpenMP workers made 2-thread timings several
times slower and erratic. Speed-up = naive time / time; memory ratio =
peak / naive peak; max abs diff: outputs / input gradients vs naive.

Rerun: `python benchmarks/bench_correspondence.py` (options: `--sizes 1024
4096`, `--repeats 3`, `--big-repeats 1`, `--threads 2`, `--out PATH`).

Machine: {machine}.
'''
HEADER = ('| component | N | method | time ms | peak extra MB | speed-up / '
          'memory ratio vs naive | max abs diff (out / grad) |',
          '|---|---|---|---|---|---|---|')
METHODS = dict(
    SCM=('naive', 'factored'),
    warp=('materialised', 'memory-efficient'),
    **{'3x3-warp': ('materialised', 'shifted-Gram')},
    MCL=('naive', 'chunked'))


def build_case(component, method, num_positions, chunk_rows=None):
    """Return (inputs, params, fn, cotangent) for one case, seeded.

    ``fn()`` runs the forward pass; ``inputs`` are the tensors whose
    gradients are compared; ``params`` only have their gradients reset.
    Both methods of a component draw the same random numbers.
    """
    torch.manual_seed(0)
    side = int(round(num_positions**0.5))
    if component == 'SCM':
        scm = SelfCorrelationMap(num_positions, out_channels=SCM_CHANNELS)
        feat = torch.randn(1, CHANNELS, side, side, requires_grad=True)
        cotangent = torch.randn(1, SCM_CHANNELS, side, side)

        def naive_scm():
            positions = F.normalize(feat.flatten(2), dim=1)  # (B, C, N)
            corr = torch.bmm(positions.transpose(1, 2), positions)  # (B,N,N)
            out = scm.fc(corr)  # (B, N, out)
            return out.transpose(1, 2).reshape(cotangent.shape)

        fn = naive_scm if method == 'naive' else lambda: scm(feat)
        return [feat], list(scm.parameters()), fn, cotangent
    if component == 'warp':
        # Matching features: 256 encoder + 256 SCM channels.
        query = torch.randn(1, num_positions, 2 * CHANNELS, requires_grad=True)
        key = torch.randn(1, num_positions, 2 * CHANNELS, requires_grad=True)
        value = torch.rand(1, num_positions, 3)  # exemplar colours
        cotangent = torch.randn(1, num_positions, 3)

        def materialised_warp():
            logits = torch.bmm(
                F.normalize(query, dim=-1),
                F.normalize(key, dim=-1).transpose(1, 2))
            return torch.bmm((logits / TEMPERATURE).softmax(dim=-1), value)

        fn = materialised_warp if method == 'materialised' else (
            lambda: cosine_softmax_warp(query, key, value, TEMPERATURE))
        return [query, key], [], fn, cotangent
    if component == '3x3-warp':
        query = torch.randn(1, 2 * CHANNELS, side, side, requires_grad=True)
        key = torch.randn(1, 2 * CHANNELS, side, side, requires_grad=True)
        value = torch.rand(1, num_positions, 3)
        cotangent = torch.randn(1, num_positions, 3)

        def materialised_neighbourhood_warp():
            logits = torch.bmm(
                neighbourhood_vectors(query),
                neighbourhood_vectors(key).transpose(1, 2))
            return torch.bmm((logits / TEMPERATURE).softmax(dim=-1), value)

        chunk_size = None if chunk_rows is None else chunk_rows * side
        fn = materialised_neighbourhood_warp if method == 'materialised' \
            else (lambda: neighbourhood_softmax_warp(
                query, key, value, TEMPERATURE, chunk_size=chunk_size))
        return [query, key], [], fn, cotangent
    cond = torch.randn(1, num_positions, CHANNELS, requires_grad=True)
    ground_truth = torch.randn(1, num_positions, CHANNELS, requires_grad=True)
    # Chunked: the warp's automatic chunk size.
    chunk = None if method == 'naive' else auto_chunk_size(num_positions)
    loss = MarginalContrastiveLoss(
        margin=0.4, temperature=0.05, bidirectional=True, chunk_size=chunk)
    return [cond, ground_truth], [], lambda: loss(cond, ground_truth), None


def forward_backward(inputs, params, fn, cotangent):
    """One forward + backward pass from zeroed gradients; returns output."""
    for tensor in inputs + params:
        tensor.grad = None
    out = fn()
    out.backward(cotangent)
    return out.detach()


def run_child(args):
    """Measure one case in this (fresh) process; print a JSON result.

    With ``--dump``: memory run (peak RSS growth during one forward +
    backward; outputs and input gradients saved to the dump). Without:
    timing run.
    """
    torch.set_num_threads(args.threads)
    # Tiny warm-up: loads kernels and thread pools before anything is big.
    forward_backward(*build_case(args.component, args.method, 64))
    case = build_case(args.component, args.method, int(args.child),
                      args.chunk_rows)
    if args.dump:
        forward_backward(*case)  # full-size warm-up: one-time buffers
        reset_rss_peak()
        baseline = rss_kib('VmRSS')
        out = forward_backward(*case)
        peak_mb = (rss_kib('VmHWM') - baseline) / 1024
        torch.save({'out': out, 'grads': [t.grad for t in case[0]]}, args.dump)
        return print(json.dumps({'peak_mb': peak_mb}))
    forward_backward(*case)  # warm-up
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        forward_backward(*case)
        times.append(time.perf_counter() - start)
    print(json.dumps({'time_ms': 1000 * min(times)}))


def run_case(args, component, method, num_positions, dump):
    """Memory run, then timing run, each in a fresh subprocess.

    Returns the merged JSON results with ``dump`` added, or None on failure.
    """
    repeats = args.repeats if num_positions < 16384 else args.big_repeats
    options = (f'--child {num_positions} --component {component} --method '
               f'{method} --repeats {repeats} --threads {args.threads}')
    if args.chunk_rows:
        options += f' --chunk-rows {args.chunk_rows}'
    cmd = [sys.executable, os.path.abspath(__file__), *options.split()]
    env = dict(os.environ)
    env.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
    memory_env = dict(env)
    # Fixed threshold: every block >= 64 KiB is its own mmap, unmapped when
    # freed, so RSS follows the live tensors instead of glibc's heap.
    memory_env.setdefault('MALLOC_MMAP_THRESHOLD_', '65536')
    result = {'dump': dump}
    for extra, child_env in ((['--dump', dump], memory_env), ([], env)):
        proc = subprocess.run(
            cmd + extra, capture_output=True, text=True, env=child_env)
        if proc.returncode != 0:
            print(proc.stderr[-2000:], file=sys.stderr)
            return None
        result.update(json.loads(proc.stdout.strip().splitlines()[-1]))
    return result


def max_abs_diff(ref_path, path):
    """Max |Δ| of the outputs and of the input gradients of two dumps."""
    ref, other = torch.load(ref_path), torch.load(path)
    out = (ref['out'] - other['out']).abs().max().item()
    grad = max((a - b).abs().max().item()
               for a, b in zip(ref['grads'], other['grads']))
    return f'{out:.1e} / {grad:.1e}'


def machine_line(threads):
    """CPU model, core count, threads, OpenMP policy, torch version."""
    with open('/proc/cpuinfo') as cpuinfo:
        models = [
            line.split(':', 1)[1].strip()
            for line in cpuinfo if line.startswith('model name')
        ] or ['unknown CPU']
    wait_policy = os.environ.get('OMP_WAIT_POLICY', 'PASSIVE')
    return (f'{models[0]}, {os.cpu_count()} cores, torch.set_num_threads('
            f'{threads}), OMP_WAIT_POLICY={wait_policy}, '
            f'torch {torch.__version__}')


def run_all(args):
    """Run every case sequentially in subprocesses; return markdown rows."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for component, methods in METHODS.items():
            if args.components and component not in args.components:
                continue
            for num_positions in args.sizes:
                results = []
                for method in methods:
                    dump = os.path.join(tmp, f'{method}.pt')
                    results.append(
                        run_case(args, component, method, num_positions, dump))
                    rows.append(
                        format_row(component, num_positions, method,
                                   results[0], results[-1]))
                    print(rows[-1], flush=True)
    return rows


def format_row(component, num_positions, method, ref, res):
    """One markdown table row; ``ref`` is the naive result of this N."""
    cells = [component, str(num_positions), method]
    if res is None:
        return '| ' + ' | '.join(cells + ['failed'] * 4) + ' |'
    cells += [f'{res["time_ms"]:.1f}', f'{res["peak_mb"]:.1f}']
    if ref is None:
        cells += ['n/a', 'n/a']
    elif ref is res:
        cells += ['1.00× / 1.00', 'reference']
    else:
        speed_up = ref['time_ms'] / res['time_ms']
        ratio = res['peak_mb'] / max(ref['peak_mb'], 1e-9)
        cells += [
            f'{speed_up:.2f}× / {ratio:.2f}',
            max_abs_diff(ref['dump'], res['dump'])
        ]
    return '| ' + ' | '.join(cells) + ' |'


def report(args, rows):
    """Markdown document: intro, machine line and the results table."""
    exponent = BUDGET.bit_length() - 1
    budget = f'2**{exponent}' if BUDGET == 2**exponent else str(BUDGET)
    intro = INTRO.format(
        repeats=args.repeats,
        big=args.big_repeats,
        machine=machine_line(args.threads),
        budget=budget,
        min_rows=MIN_CHUNK_QUERIES,
        unchunked=math.isqrt(BUDGET))
    return '\n'.join([intro, *HEADER, *rows, ''])


def main():
    """Parse arguments; run one case (child) or the whole benchmark."""
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add = parser.add_argument
    add('--sizes', type=int, nargs='+', default=[1024, 4096, 16384])
    add('--repeats', type=int, default=3)
    add('--big-repeats', type=int, default=1)
    add('--threads', type=int, default=2)
    add('--components', nargs='+', choices=list(METHODS),
        help='only these components (default: all)')
    add('--out', help='also write the markdown here')
    add('--chunk-rows', type=int,
        help='3x3-warp: grid rows per chunk of the shifted-Gram warp '
        '(default: its automatic size, 16 rows at 64×64, 8 at 128×128)')
    for hidden in ('--child', '--component', '--method', '--dump'):
        add(hidden, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return run_child(args)
    document = report(args, run_all(args))
    print(document)
    if not args.out:
        return None
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w', encoding='utf-8') as out_file:
        out_file.write(document)


if __name__ == '__main__':
    main()
