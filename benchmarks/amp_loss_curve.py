"""Loss curves of the same seeded run in fp32 and with ``--amp``.

Trains ``configs/mclnet_demo.py`` (or ``--config``) for ``--iters``
iterations twice through ``tools/train.py``, once as is and once with
``--amp`` (bf16 autocast on the CPU), logging every iteration, and prints
the generator and discriminator losses side by side (means over windows of
10 iterations), their largest relative difference, and the seconds per
iteration of each run (MMEngine's logged ``time``, after the first 5).

    python benchmarks/amp_loss_curve.py [--iters 50] [--config C]
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEYS = ('loss_gen', 'loss_disc', 'loss_mcl', 'loss_cxt')


def train(config: str, iters: int, work_dir: Path, amp: bool) -> list:
    command = [
        sys.executable, str(ROOT / 'tools/train.py'), config, '--work-dir',
        str(work_dir), '--cfg-options', f'train_cfg.max_iters={iters}',
        'default_hooks.logger.interval=1',
        f'default_hooks.checkpoint.interval={iters}', 'custom_hooks=[]'
    ] + (['--amp'] if amp else [])
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    scalars = next(work_dir.glob('*/vis_data/scalars.json'))
    return [json.loads(line) for line in scalars.read_text().splitlines()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default='configs/mclnet_demo.py')
    parser.add_argument('--iters', type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs = {
            name: train(args.config, args.iters,
                        Path(tmp) / name, name == 'amp')
            for name in ('fp32', 'amp')
        }
    print(f'{args.config}, {args.iters} iterations, seeded; means over 10 '
          'iterations')
    print('| iterations | ' + ' | '.join(
        f'{key} fp32 | {key} amp' for key in KEYS) + ' |')
    print('|---|' + '---|---|' * len(KEYS))
    worst = {key: 0.0 for key in KEYS}
    for start in range(0, args.iters, 10):
        cells = []
        for key in KEYS:
            means = [
                statistics.mean(row[key] for row in runs[name]
                                [start:start + 10] if key in row)
                for name in ('fp32', 'amp')
            ]
            worst[key] = max(worst[key],
                             abs(means[1] - means[0]) / abs(means[0]))
            cells += [f'{means[0]:.4f}', f'{means[1]:.4f}']
        print(f'| {start + 1}–{start + 10} | ' + ' | '.join(cells) + ' |')
    print('largest relative difference of the window means: ' + ', '.join(
        f'{key} {value:.1%}' for key, value in worst.items()))
    for name, rows in runs.items():
        times = [row['time'] for row in rows[5:] if 'time' in row]
        print(f'{name}: {statistics.median(times):.3f} s per iteration')


if __name__ == '__main__':
    main()
