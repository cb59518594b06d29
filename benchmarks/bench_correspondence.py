"""Benchmark the O(N²) parts of MCL-Net: naive vs memory-efficient forms.

For N = H·W positions, times forward + backward (fp32, batch 1, CPU) and
measures the peak extra memory of:

* SCM: the N×N self-correlation followed by ``fc`` vs
  ``SelfCorrelationMap`` (``x̂ᵢᵀ(X̂Wᵀ) + b``), with the same ``fc`` weights;
* warp: ``softmax(q̂k̂ᵀ / 0.01) @ v`` vs ``cosine_softmax_warp`` (chunked,
  recomputed in backward);
* MCL: ``MarginalContrastiveLoss`` without and with ``chunk_size``.

Every (component, method, N) case runs in a fresh subprocess, one at a
time. Usage: ``python benchmarks/bench_correspondence.py [--sizes 1024 4096]
[--out docs/benchmarks.md]``.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import torch
import torch.nn.functional as F

CHANNELS = 256  # encoder feature channels C
SCM_CHANNELS = 256  # SCM fc output channels
TEMPERATURE = 0.01  # warp softmax temperature
BUDGET = 2**22  # matrix elements per chunk (the warp's automatic choice)
METHODS = {
    'SCM': ('naive', 'factored'),
    'warp': ('materialised', 'memory-efficient'),
    'MCL': ('naive', 'chunked'),
}


def mcl_chunk_size(num_positions):
    """Anchors per MCL chunk: chunk × N ≈ 2**22 logits, as for the warp."""
    return max(1, BUDGET // num_positions)


def build_case(component, method, num_positions):
    """Return (inputs, params, fn, cotangent) for one case, seeded.

    ``fn()`` runs the forward pass; ``inputs`` are the tensors whose
    gradients are compared; ``params`` only have their gradients reset.
    Both methods of a component draw the same random numbers.
    """
    from mclnet_plugin.models import (MarginalContrastiveLoss,
                                      SelfCorrelationMap)
    from mclnet_plugin.models.correspondence import cosine_softmax_warp
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
        query = torch.randn(1, num_positions, 2 * CHANNELS,
                            requires_grad=True)
        key = torch.randn(1, num_positions, 2 * CHANNELS, requires_grad=True)
        value = torch.rand(1, num_positions, 3)  # exemplar colours
        cotangent = torch.randn(1, num_positions, 3)

        def materialised_warp():
            logits = torch.bmm(F.normalize(query, dim=-1),
                               F.normalize(key, dim=-1).transpose(1, 2))
            return torch.bmm((logits / TEMPERATURE).softmax(dim=-1), value)

        fn = materialised_warp if method == 'materialised' else (
            lambda: cosine_softmax_warp(query, key, value, TEMPERATURE))
        return [query, key], [], fn, cotangent
    cond = torch.randn(1, num_positions, CHANNELS, requires_grad=True)
    ground_truth = torch.randn(1, num_positions, CHANNELS, requires_grad=True)
    chunk = None if method == 'naive' else mcl_chunk_size(num_positions)
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


def rss_peak_kib():
    """Peak resident set size of this process so far, in KiB (Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_child(args):
    """Measure one case in this (fresh) process; print a JSON result."""
    torch.set_num_threads(args.threads)
    # Tiny warm-up: loads kernels and thread pools outside the measurement.
    forward_backward(*build_case(args.component, args.method, 64))
    case = build_case(args.component, args.method, args.child)
    try:  # reset the peak to the current RSS (Linux >= 4.0)
        with open('/proc/self/clear_refs', 'w') as clear_refs:
            clear_refs.write('5')
    except OSError:
        pass  # ru_maxrss stays a lifetime peak; the warm-up was small
    baseline = rss_peak_kib()
    out = forward_backward(*case)
    peak_extra_mb = (rss_peak_kib() - baseline) / 1024
    torch.save({'out': out, 'grads': [t.grad for t in case[0]]}, args.dump)
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        forward_backward(*case)
        times.append(time.perf_counter() - start)
    print(json.dumps({'time_ms': 1000 * min(times), 'peak_mb': peak_extra_mb,
                      'repeats': args.repeats}))


def max_abs_diff(ref_path, path):
    """Max |Δ| of the outputs and of the input gradients of two dumps."""
    ref, other = torch.load(ref_path), torch.load(path)
    out = (ref['out'] - other['out']).abs().max().item()
    grad = max((a - b).abs().max().item()
               for a, b in zip(ref['grads'], other['grads']))
    return f'{out:.1e} / {grad:.1e}'


def machine_line(threads):
    """CPU model, core count, thread count and torch version."""
    model = 'unknown CPU'
    try:
        with open('/proc/cpuinfo') as cpuinfo:
            for line in cpuinfo:
                if line.startswith('model name'):
                    model = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    return (f'{model}, {os.cpu_count()} cores, torch.set_num_threads('
            f'{threads}), torch {torch.__version__}, fp32, batch 1')


def run_all(args):
    """Run every case sequentially in subprocesses; return markdown rows."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for component, methods in METHODS.items():
            for num_positions in args.sizes:
                results = []
                for method in methods:
                    repeats = (args.repeats if num_positions < 16384 else
                               args.big_repeats)
                    dump = os.path.join(tmp, f'{method}.pt')
                    cmd = [sys.executable, os.path.abspath(__file__),
                           '--child', str(num_positions), '--component',
                           component, '--method', method, '--dump', dump,
                           '--repeats', str(repeats),
                           '--threads', str(args.threads)]
                    proc = subprocess.run(cmd, capture_output=True, text=True)
                    if proc.returncode != 0:
                        print(proc.stderr[-2000:], file=sys.stderr)
                        results.append(None)
                    else:
                        last = proc.stdout.strip().splitlines()[-1]
                        results.append(dict(json.loads(last), dump=dump))
                    rows.append(format_row(component, num_positions, method,
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
        cells += [f'{speed_up:.2f}× / {ratio:.2f}',
                  max_abs_diff(ref['dump'], res['dump'])]
    return '| ' + ' | '.join(cells) + ' |'


def report(args, rows):
    """Markdown document: intro, machine line and the results table."""
    header = ('| component | N | method | time ms | peak extra MB | '
              'speed-up / memory ratio vs naive | max abs diff (out / grad) '
              '|\n|---|---|---|---|---|---|---|')
    return '\n'.join([
        '# Correspondence benchmarks', '',
        'Forward + backward, fp32, batch 1, C = 256 (warp: query/key '
        '256 + 256 = 512 channels, value 3 colours), N = H·W on square '
        'grids. Compared: SCM naive (N×N self-correlation, then `fc`) vs '
        'factored `SelfCorrelationMap` (same `fc` weights); warp '
        'materialised `softmax(q̂k̂ᵀ/0.01) @ v` vs `cosine_softmax_warp` '
        '(automatic chunk, 2**22 matrix elements); MCL (bidirectional, '
        'margin 0.4, temperature 0.05) naive vs `chunk_size = 2**22 // N` '
        '(no chunking at N ≤ 2048).', '',
        'Each case runs in a fresh subprocess, one at a time. Peak extra '
        'memory: after the inputs are built the RSS peak is reset '
        '(`/proc/self/clear_refs`), one forward + backward runs, and the '
        'growth of `ru_maxrss` is reported in MB (MiB). Time: best of '
        f'{args.repeats} runs after that warm-up run (N ≥ 16384: best of '
        f'{args.big_repeats}). Speed-up = naive time / time; memory ratio = '
        'peak / naive peak. The max abs diff compares the outputs and the '
        'input gradients with the naive method.', '',
        'Rerun: `python benchmarks/bench_correspondence.py` (options: '
        '`--sizes 1024 4096`, `--repeats 3`, `--big-repeats 1`, '
        '`--out PATH`).', '',
        f'Machine: {machine_line(args.threads)}.', '',
        header, *rows, ''])


def main():
    """Parse arguments; run one case (child) or the whole benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--sizes', type=int, nargs='+',
                        default=[1024, 4096, 16384],
                        help='numbers of positions N (perfect squares)')
    parser.add_argument('--repeats', type=int, default=3,
                        help='timed runs per case (best is reported)')
    parser.add_argument('--big-repeats', type=int, default=1,
                        help='timed runs per case at N >= 16384')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--out', default='docs/benchmarks.md',
                        help='markdown file to write')
    parser.add_argument('--child', type=int, help=argparse.SUPPRESS)
    parser.add_argument('--component', help=argparse.SUPPRESS)
    parser.add_argument('--method', help=argparse.SUPPRESS)
    parser.add_argument('--dump', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        return run_child(args)
    print(f'Machine: {machine_line(args.threads)}', flush=True)
    document = report(args, run_all(args))
    print(document)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w', encoding='utf-8') as out_file:
        out_file.write(document)


if __name__ == '__main__':
    main()
