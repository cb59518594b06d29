"""One full MCL-Net training step (generator and discriminator updates, every
loss of the config), timed and measured per implementation.

Each case runs ``MCLNet.train_step`` on a synthetic batch (ADE20K-like
label ids, random photos, half of the samples pseudo pairs) in fresh
processes. Time run: with tools/train.py's allocator setting
(``keep_freed_memory``), one warm-up step, then ``--repeats`` timed steps
(median wall time and CPU time) and the step's matmul/convolution FLOPs
(``torch.utils.flop_counter``) over its time. Memory run: glibc's mmap
threshold fixed at 64 KiB (``MALLOC_MMAP_THRESHOLD_``), so every large
block is returned when freed and the resident memory follows the live
tensors; one warm-up step, then the process's peak resident memory
(``VmHWM``, reset before the step) during one step, and what the step adds
to the memory before it. On a GPU the time run reads the CUDA allocator's
peak of one more step instead, and no memory run is started.
Cases:

* ``efficient``: the configs' code paths (the correspondence's shifted-Gram
  neighbourhood cosines, chunked and recomputed in backward; factored SCM;
  chunked MCL);
* ``materialized``: the reference formulas in the same model
  (``impl='materialized'``: unfolded 3×3 vectors, the full N×N matrix and
  its softmaxes, the N×N self-correlation, the unchunked MCL);
* ``checkpointed``: the configs' code with activation checkpointing of
  every residual block (``with_cp=True`` in both encoders, the matching
  stack and the SPADE generator);
* ``--amp``: the same with the training script's ``--amp`` wrapper (bf16
  autocast on the CPU, fp16 on a GPU);
* ``--baseline COMMIT``: the step of an older commit of this repository,
  checked out in a temporary git worktree and run by the same code
  (its own configs and model).

``--breakdown`` adds per-stage times: each stage's forward and backward run
alone on the inputs the full step gives it (encoders, matching head + SCM,
warp, cycle, MCL, SPADE generator, discriminator, VGG losses, optimizer
steps + EMA); their sum next to the step shows what is left (data
preprocessing, glue). The machine's plain matmul and convolution rates are
measured in the same run.

    python benchmarks/bench_train_step.py [--config configs/mclnet_ade20k.py]
        [--cases efficient materialized checkpointed] [--amp] [--batches 1 2]
        [--baseline 2579e11] [--breakdown] [--repeats 3] [--threads 2]
        [--device cpu|cuda] [--out results.json]
"""
import argparse
import contextlib
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from process_memory import reset_rss_peak, rss_kib

ROOT = Path(__file__).resolve().parents[1]
MATERIALIZED = {
    'model.generator.correspondence.impl': 'materialized',
    'model.generator.correspondence.scm.impl': 'materialized',
    'model.losses.mcl.chunk_size': None,
}
CHECKPOINTED = {
    f'model.generator.{module}.with_cp': True
    for module in ('correspondence.cond_encoder',
                   'correspondence.image_encoder', 'correspondence.matching',
                   'generator')
}
MEMORY_BUDGET_GB = 24
# keep_freed_memory's settings, for code that does not call it
KEEP_MEMORY_ENV = dict(MALLOC_MMAP_MAX_='0',
                       MALLOC_TRIM_THRESHOLD_=str(2**31 - 1))


# ----------------------------------------------------------------- child
def load_train_tool():
    spec = importlib.util.spec_from_file_location('train_tool',
                                                  ROOT / 'tools/train.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build(args):
    from mmagic.registry import MODELS
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope

    import mclnet_plugin  # noqa: F401
    init_default_scope('mmagic')
    cfg = Config.fromfile(args.config)
    if args.impl == 'materialized':
        cfg.merge_from_dict(MATERIALIZED)
    if args.impl == 'checkpointed':
        cfg.merge_from_dict(CHECKPOINTED)
    if args.amp:
        load_train_tool().use_amp(cfg, on_gpu=args.device == 'cuda')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).to(args.device)
    wrappers = build_optim_wrapper(model, cfg.optim_wrapper)
    return model, wrappers, synthetic_batch(cfg, args.batch, args.size)


def synthetic_batch(cfg, batch: int, size: int) -> dict:
    """Random photos and conditions as the config's dataset gives them:
    label ids when its preprocessor one-hot encodes the condition (ADE20K),
    otherwise ``label_nc`` float channels."""
    from mmagic.structures import DataSample
    generator = torch.Generator().manual_seed(1)
    one_hot = (cfg.model.data_preprocessor.get('one_hot') or {}).get('cond')
    label_nc = cfg.model.generator.correspondence.cond_encoder.in_channels

    def randint(high, *shape):
        return torch.randint(0, high, shape, dtype=torch.uint8,
                             generator=generator)

    def condition():
        if one_hot:
            return randint(one_hot, 1, size, size)
        return torch.rand(label_nc, size, size, generator=generator)

    samples = []
    for index in range(batch):
        sample = DataSample(gt_img=randint(256, 3, size, size))
        sample.set_metainfo(dict(is_pseudo_pair=index % 2 == 0))
        samples.append(sample)
    return dict(
        inputs=dict(
            cond=[condition() for _ in range(batch)],
            exemplar=[randint(256, 3, size, size) for _ in range(batch)]),
        data_samples=samples)


def synchronize(device: str) -> None:
    if device == 'cuda':
        torch.cuda.synchronize()


def timed(fn, device: str):
    synchronize(device)
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    synchronize(device)
    return time.perf_counter() - wall, time.process_time() - cpu


def count_flops(fn) -> int:
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def stage_times(model, wrappers, data, args) -> dict:
    """Forward + backward of each stage alone, on the step's own inputs."""
    processed = model.data_preprocessor(data, True)
    cond = processed['inputs']['cond']
    exemplar = processed['inputs']['exemplar']
    gt = processed['data_samples'].gt_img
    pseudo = model._pseudo_pair_mask(processed['data_samples'], gt)
    generator = model.generator
    corr = generator.correspondence

    def amp():
        if not args.amp:
            return contextlib.nullcontext()
        return torch.autocast(args.device,
                              dtype=wrappers['generator'].cast_dtype
                              or torch.float16)

    with torch.no_grad(), amp():
        out = generator(cond, exemplar, gt, with_cycle=True)

    def leaf(key):
        return out[key].detach().float().requires_grad_(True)

    def backward(*tensors):
        sum((t.float() * 1e-3).sum() for t in tensors).backward()

    cond_feat, exemplar_feat, gt_feat = (
        leaf(k) for k in ('cond_feat', 'exemplar_feat', 'gt_feat'))
    cond_match, exemplar_match, gt_match = (
        leaf(k) for k in ('cond_match', 'exemplar_match', 'gt_match'))
    warped, fake = leaf('warped_exemplar_pooled'), leaf('fake_img')
    warped_image = leaf('warped_exemplar')

    def vgg_losses():
        fake_feats = model.vgg(fake)
        with torch.no_grad():
            gt_feats, exemplar_feats = model.vgg(gt), model.vgg(exemplar)
        losses = model.losses
        total = losses['perceptual'](fake_feats, gt_feats) + losses[
            'contextual'](fake_feats, exemplar_feats)
        if pseudo.any():
            total = total + model.vgg_feature_matching_loss(
                fake_feats, gt_feats, pseudo)
        total.backward()

    def discriminator():
        model.discriminator.requires_grad_(False)
        gen_side = sum(model.adversarial_losses(cond, fake, gt).values())
        model.discriminator.requires_grad_(True)
        gen_side.backward()
        sum(model.discriminator_losses(cond, fake.detach(),
                                       gt).values()).backward()

    stages = {
        'encoders (E_X, E_Z on exemplar and truth)':
        lambda: backward(
            corr.cond_encoder(cond), corr.image_encoder(exemplar),
            corr.image_encoder(gt)),
        'matching head + SCM':
        lambda: backward(
            corr.matching_features(cond_feat, 'cond'),
            corr.matching_features(exemplar_feat, 'image'),
            corr.matching_features(gt_feat, 'image')),
        'warp (T·Z)':
        lambda: backward(
            corr.warp(cond_match, exemplar_match, out['exemplar_pooled'])),
        'cycle (Tᵀ·T·Z)':
        lambda: backward(corr.warp_back(cond_match, exemplar_match, warped)),
        'MCL (both directions)':
        lambda: model.losses['mcl'](cond_match, gt_match).backward(),
        'SPADE generator':
        lambda: backward(
            generator.generator(
                torch.cat([warped_image, cond], dim=1))),
        'discriminator (G and D steps)': discriminator,
        'VGG losses (perceptual, contextual, feature matching)': vgg_losses,
    }
    results = {}
    for name, fn in stages.items():
        times = []
        for _ in range(args.repeats + 1):
            with amp():
                times.append(timed(fn, args.device)[0])
            model.zero_grad(set_to_none=True)
        results[name] = statistics.median(times[1:])
    for param in model.parameters():
        param.grad = torch.randn_like(param)

    def optimizer_steps():
        wrappers['generator'].step()
        wrappers['discriminator'].step()
        if model.generator_ema is not None:
            model.generator_ema.update_parameters(generator)

    times = [timed(optimizer_steps, args.device)[0]
             for _ in range(args.repeats + 1)]
    results['optimizer steps + EMA'] = statistics.median(times[1:])
    model.zero_grad(set_to_none=True)
    return results


def run_memory_child(args) -> dict:
    """One step after a warm-up with glibc's mmap threshold fixed low
    (set by the parent), so the resident memory follows the live tensors:
    the process's peak, and what a step adds to the memory before it."""
    if args.device == 'cpu':
        torch.set_num_threads(args.threads)
    model, wrappers, data = build(args)
    model.train_step(data, wrappers)
    before = rss_kib('VmRSS') / 1024
    reset_rss_peak()
    model.train_step(data, wrappers)
    peak = rss_kib('VmHWM') / 1024
    return dict(peak_mb=peak, step_peak_mb=peak - before)


def cuda_peak(step) -> dict:
    """The CUDA allocator's peak during one step, and what the step adds
    to the memory allocated before it (exact, so on a GPU the time run
    measures it too and no separate memory run is started)."""
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated() / 2**20
    step()
    torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated() / 2**20
    return dict(peak_mb=peak, step_peak_mb=peak - before)


def run_child(args) -> dict:
    """Timed steps (with tools/train.py's allocator setting on the CPU),
    FLOPs, and with ``--breakdown`` the stage times."""
    if args.device == 'cpu':
        torch.set_num_threads(args.threads)
        if not args.system_malloc:
            # what tools/train.py does on the CPU
            from mclnet_plugin.utils.cpu_allocator import keep_freed_memory
            keep_freed_memory()
    model, wrappers, data = build(args)
    step = lambda: model.train_step(data, wrappers)  # noqa: E731
    step()  # warm-up: optimizer states, allocator, oneDNN kernels
    walls, cpus = zip(*[timed(step, args.device) for _ in range(args.repeats)])
    result = dict(
        seconds=statistics.median(walls),
        cpu_seconds=statistics.median(cpus),
        flops=count_flops(step),
        params=sum(p.numel() for p in model.parameters()))
    if args.device == 'cuda':
        result.update(cuda_peak(step))
    if args.breakdown:
        result['stages'] = stage_times(model, wrappers, data, args)
    return result


# ---------------------------------------------------------------- parent
def machine_rates(threads: int, device: str) -> dict:
    """Plain fp32/bf16 matmul (2048²) and 512→512 3×3 conv (64×64) rates,
    GFLOP/s, best of 3."""
    if device == 'cpu':
        torch.set_num_threads(threads)
    rates = {}
    for dtype in (torch.float32, torch.bfloat16):
        a = torch.randn(2048, 2048, dtype=dtype, device=device)
        x = torch.randn(1, 512, 64, 64, dtype=dtype, device=device)
        w = torch.randn(512, 512, 3, 3, dtype=dtype, device=device)
        cases = dict(
            matmul=(lambda: a @ a, 2 * 2048**3),
            conv=(lambda: torch.nn.functional.conv2d(x, w, padding=1),
                  2 * 64 * 64 * 512 * 512 * 9))
        for name, (fn, flops) in cases.items():
            fn()
            best = min(timed(fn, device)[0] for _ in range(3))
            rates[f'{name} {str(dtype)[6:]}'] = flops / best / 1e9
    return rates


def run_case(args, name, impl, amp, batch, repo=ROOT, system_malloc=False,
             extra_env=None):
    command = [
        sys.executable, str(ROOT / 'benchmarks/bench_train_step.py'),
        '--child', '--impl', impl, '--batch', str(batch), '--repeats',
        str(args.repeats), '--size', str(args.size), '--threads',
        str(args.threads), '--device', args.device, '--config', args.config
    ]
    if amp:
        command.append('--amp')
    if system_malloc:
        command.append('--system-malloc')
    if args.breakdown and repo == ROOT:
        command.append('--breakdown')
    # the case's repository first, then whatever the caller's path holds
    path = [str(repo)] + [p for p in os.environ.get('PYTHONPATH', '').split(
        os.pathsep) if p]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path),
               **(extra_env or {}))
    env.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
    on_cpu = args.device == 'cpu'
    runs = []
    # on a GPU the time run also reads the allocator's peak
    if not (args.skip_time and on_cpu):
        runs.append((command, env))
    if on_cpu and not args.skip_memory:
        # every block of 64 KiB or more its own mapping, unmapped when freed
        memory_env = dict(env, MALLOC_MMAP_THRESHOLD_='65536')
        memory_env.pop('MALLOC_MMAP_MAX_', None)
        runs.append(([c for c in command if c != '--breakdown'] +
                     ['--memory-run'], memory_env))
    result = dict(case=name, batch=batch)
    for run_command, run_env in runs:
        print(f'[bench] {name}, batch {batch} ...', file=sys.stderr,
              flush=True)
        done = subprocess.run(run_command, cwd=repo, env=run_env,
                              capture_output=True, text=True)
        if done.returncode != 0:
            print(f'[bench] {name}, batch {batch} failed:\n'
                  f'{done.stderr[-3000:]}', file=sys.stderr, flush=True)
            return None
        result.update(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f'[bench] {json.dumps(result)}', file=sys.stderr, flush=True)
    return result


@contextlib.contextmanager
def worktree(commit: str):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / 'baseline'
        subprocess.run(['git', 'worktree', 'add', '--detach', str(path),
                        commit], cwd=ROOT, check=True, capture_output=True)
        try:
            yield path
        finally:
            subprocess.run(['git', 'worktree', 'remove', '--force',
                            str(path)], cwd=ROOT, check=False,
                           capture_output=True)


def largest_batch(rows) -> dict:
    """Per case, the largest batch whose step fits the memory budget,
    extrapolated linearly from the measured batches."""
    fits = {}
    for name in dict.fromkeys(row['case'] for row in rows):
        points = sorted((row['batch'], row['peak_mb']) for row in rows
                        if row['case'] == name and 'peak_mb' in row)
        if len(points) < 2:
            continue
        (b0, m0), (b1, m1) = points[0], points[-1]
        per_sample = (m1 - m0) / (b1 - b0)
        fits[name] = dict(
            mb_per_sample=per_sample,
            batch=int((MEMORY_BUDGET_GB * 1024 - (m0 - per_sample * b0)) //
                      per_sample))
    return fits


def report(rows, rates, fits, args) -> str:
    lines = [
        f'torch {torch.__version__}, device {args.device}, '
        f'{args.threads} threads, {Path(args.config).name}, median of '
        f'{args.repeats} steps after a warm-up', '',
        '| plain rates | GFLOP/s |', '|---|---|'
    ]
    lines += [f'| {name} | {rate:.0f} |' for name, rate in rates.items()]
    base = rows[0]

    def cell(row, key, spec, scale=1.0):
        return format(row[key] * scale, spec) if key in row else 'n/a'

    def ratio(row, key):
        if key not in row or key not in base:
            return 'n/a'
        return f'{row[key] / base[key]:.2f}×'

    lines += [
        '', '| case | batch | step s | CPU s | time vs first | peak MB | '
        'memory vs first | step adds MB | GFLOP/step | achieved GFLOP/s |',
        '|---|---|---|---|---|---|---|---|---|---|'
    ]
    for row in rows:
        achieved = (f'{row["flops"] / 1e9 / row["seconds"]:.0f}'
                    if 'seconds' in row else 'n/a')
        lines.append(
            f'| {row["case"]} | {row["batch"]} | {cell(row, "seconds", ".2f")}'
            f' | {cell(row, "cpu_seconds", ".1f")} | {ratio(row, "seconds")} '
            f'| {cell(row, "peak_mb", ".0f")} | {ratio(row, "peak_mb")} | '
            f'{cell(row, "step_peak_mb", ".0f")} | '
            f'{cell(row, "flops", ".0f", 1e-9)} | {achieved} |')
    if fits:
        lines += ['', f'| case | MB per sample | largest batch in '
                  f'{MEMORY_BUDGET_GB} GB (extrapolated) |', '|---|---|---|']
        lines += [f'| {name} | {fit["mb_per_sample"]:.0f} | {fit["batch"]} |'
                  for name, fit in fits.items()]
    first = args.batches[0]
    staged = [row for row in rows if 'stages' in row and row['batch'] == first]
    if staged:
        lines += ['', f'| stage (batch {first}) | ' + ' | '.join(
            row['case'] for row in staged) + ' |',
            '|---|' + '---|' * len(staged)]
        for stage in staged[0]['stages']:
            lines.append(f'| {stage} | ' + ' | '.join(
                f'{row["stages"][stage]:.2f}' for row in staged) + ' |')
        lines.append('| sum of stages | ' + ' | '.join(
            f'{sum(row["stages"].values()):.2f}' for row in staged) + ' |')
        lines.append('| whole step | ' + ' | '.join(
            f'{row["seconds"]:.2f}' for row in staged) + ' |')
    return '\n'.join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default='configs/mclnet_ade20k.py')
    parser.add_argument('--cases', nargs='+',
                        default=['efficient', 'materialized'],
                        choices=['efficient', 'materialized',
                                 'checkpointed'])
    parser.add_argument('--amp', action='store_true',
                        help='also run each case with --amp')
    parser.add_argument('--batches', type=int, nargs='+', default=[1])
    parser.add_argument('--size', type=int, default=256,
                        help='image size of the synthetic batch')
    parser.add_argument('--baseline', metavar='COMMIT',
                        help='also time this commit (git worktree)')
    parser.add_argument('--breakdown', action='store_true')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--out', help='write the results as JSON here')
    parser.add_argument('--child', action='store_true',
                        help=argparse.SUPPRESS)
    parser.add_argument('--impl', default='efficient',
                        help=argparse.SUPPRESS)
    parser.add_argument('--batch', type=int, default=1,
                        help=argparse.SUPPRESS)
    parser.add_argument('--system-malloc', action='store_true',
                        help=argparse.SUPPRESS)
    parser.add_argument('--memory-run', action='store_true',
                        help=argparse.SUPPRESS)
    parser.add_argument('--skip-memory', action='store_true',
                        help='only the timed runs')
    parser.add_argument('--skip-time', action='store_true',
                        help='only the memory runs (on the CPU)')
    args = parser.parse_args()
    if args.child:
        print(json.dumps(
            run_memory_child(args) if args.memory_run else run_child(args)))
        return

    rates = machine_rates(args.threads, args.device)
    print(f'[bench] rates {json.dumps(rates)}', file=sys.stderr, flush=True)
    rows = []

    def add(row):  # a failed case is None; the JSON is rewritten after
        if row is None:  # every case, so a run cut short keeps its rows
            return
        rows.append(row)
        if args.out:
            Path(args.out).write_text(
                json.dumps(dict(rates=rates, rows=rows), indent=1))

    if args.baseline:
        with worktree(args.baseline) as path:
            # as its own tools ran it, and with this commit's malloc
            # setting given through glibc's environment variables
            for batch in args.batches:
                add(run_case(args, f'commit {args.baseline}', 'efficient',
                             False, batch, repo=path, system_malloc=True))
            if args.device == 'cpu' and not args.skip_time:
                add(run_case(args, f'commit {args.baseline}, kept memory',
                             'efficient', False, args.batches[0], repo=path,
                             system_malloc=True, extra_env=KEEP_MEMORY_ENV))
    for batch in args.batches:
        for impl in args.cases:
            add(run_case(args, impl, impl, False, batch))
            if impl == 'efficient' and batch == args.batches[0] and (
                    args.device == 'cpu') and not args.skip_time:
                add(run_case(args, 'efficient, system malloc', impl, False,
                             batch, system_malloc=True))
            if args.amp:
                add(run_case(args, f'{impl} --amp', impl, True, batch))
    fits = largest_batch(rows) if args.device == 'cpu' else {}
    text = report(rows, rates, fits, args)
    print(text)
    if args.out:
        Path(args.out).write_text(
            json.dumps(dict(rates=rates, rows=rows, fits=fits), indent=1))


if __name__ == '__main__':
    main()
