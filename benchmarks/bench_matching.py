"""What CoCosNet's matching pipeline costs: the correspondence network of the
256×256 configs (E_X, E_Z, SCM, warp; 64×64 features) forward + backward,
with the matching of the configs (shared stack, θ/φ, 3×3 centred
neighbourhoods) and without it (the normalised encoder features matched per
position), each in a fresh process for its peak memory.

    python benchmarks/bench_matching.py [--repeats 3] [--threads 2]
"""
import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import torch

VARIANTS = dict(
    per_position=dict(matching=None, match_kernel=1, center=False),
    cocosnet_3x3=dict(),  # the configs' settings
)


def build_net(variant: str):
    from mmagic.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import mclnet_plugin  # noqa: F401
    init_default_scope('mmagic')
    cfg = Config.fromfile('configs/mclnet_ade20k.py')
    corr = cfg.model.generator.correspondence
    corr.update(VARIANTS[variant])
    return MODELS.build(corr)


def run_child(variant: str, repeats: int, threads: int) -> dict:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = build_net(variant)
    cond = torch.zeros(1, 151, 256, 256)
    cond[:, 0, :128], cond[:, 1, 128:] = 1, 1
    exemplar = torch.rand(1, 3, 256, 256) * 2 - 1
    times = []
    for _ in range(repeats + 1):  # the first run warms up
        start = time.perf_counter()
        out = net(cond, exemplar, exemplar)
        (out['warped_exemplar'].mean() + out['cond_match'].mean()).backward()
        times.append(time.perf_counter() - start)
        net.zero_grad(set_to_none=True)
    return dict(
        variant=variant,
        seconds=statistics.median(times[1:]),
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        corr_width=out['cond_match'].shape[1] * net.match_kernel**2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--child', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_child(args.child, args.repeats, args.threads)))
        return
    rows = []
    for variant in VARIANTS:
        result = subprocess.run(
            [sys.executable, __file__, '--child', variant, '--repeats',
             str(args.repeats), '--threads', str(args.threads)],
            capture_output=True, text=True, check=True)
        rows.append(json.loads(result.stdout.strip().splitlines()[-1]))
    base = rows[0]
    print(f'torch {torch.__version__}, {args.threads} threads, batch 1, '
          '256×256 input, 64×64 features, fp32, forward + backward')
    print('| matching | vector width | time s | peak RSS MB | time vs per '
          'position |')
    print('|---|---|---|---|---|')
    for row in rows:
        print(f'| {row["variant"]} | {row["corr_width"]} | '
              f'{row["seconds"]:.2f} | {row["peak_rss_mb"]:.0f} | '
              f'{row["seconds"] / base["seconds"]:.2f}× |')


if __name__ == '__main__':
    main()
