"""How far can the demo's warp go? Trains only the correspondence network of
the demo config (E_X, E_Z, SCM, matching, warp, with the losses MCLNet gives
it: Alg. 1 and Eq. 3, 4, 5; no SPADE generator, no discriminator) and
measures the held-out warped-exemplar PSNR as a share of the oracle's gain
over the untrained network, the number the demo's ``report.json`` calls
``warp_gain_of_oracle``, next to reference warps that bound it:

* ``unwarped``: the exemplar pooled and upsampled, not warped at all;
* ``within one cell``: the true correspondence spread uniformly over the
  3×3 cells around it (a softmax warp that is right to within one cell);
* ``oracle``: the true correspondence (the report's oracle warp).

``--train-on held-out`` trains on the held-out photos themselves (other
random crops and warps of them): no generalisation gap, so the share it
reaches is the most this network and schedule can give. Draw 0 of the
held-out photos is the one the demo reports (``TranslationGridHook``,
seed 0); ``--draws`` more draws (seeds 1, 2, ...) average out the draw.
See docs/correspondence_quality.md ("What limits the demo's share").

  python benchmarks/demo_warp_ceiling.py [--train-on train|held-out]
      [--iters 2000] [--every 250] [--draws 6] [--batch 2]
      [--lr 1e-3] [--betas 0.9 0.999] [--eps 1e-8] [--out DIR] [--quick]
"""
import argparse
import json
import os
import os.path as osp
import sys
import time
from typing import Dict, List, Optional

# Spinning OpenMP workers made 2-thread runs several times slower on a
# shared 2-core machine (docs/benchmarks.md); must precede torch's import.
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmagic.registry import MODELS  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
import mclnet_plugin  # noqa: E402,F401  (registers the modules)
from mclnet_plugin.engine.translation_grid_hook import (  # noqa: E402
    first_batch, mean_psnr_of, oracle_warps, share_of_oracle_gain)

DEMO_CONFIG = osp.join(REPO, 'configs', 'mclnet_demo.py')
REFERENCES = ('untrained', 'unwarped', 'within one cell', 'oracle')


def grid_hook_loader(cfg: Config) -> dict:
    """The held-out dataloader of the config's ``TranslationGridHook``."""
    for hook in cfg.get('custom_hooks', []):
        if hook.get('type') == 'TranslationGridHook':
            return hook['dataloader']
    raise ValueError('demo_warp_ceiling: the config has no '
                     'TranslationGridHook (its dataloader is the held-out '
                     'set)')


def training_loader(cfg: Config, train_on: str, batch_size: int):
    loader = Config(cfg.train_dataloader.to_dict())
    loader.batch_size = batch_size
    if train_on == 'held-out':
        loader.dataset.photos = grid_hook_loader(cfg)['dataset']['photos']
    return Runner.build_dataloader(loader, seed=0)


def warped_psnrs(model, batches: List[dict]) -> np.ndarray:
    """Per draw: the mean PSNR of the model's warped exemplars."""
    model.eval()
    psnrs = []
    for batch in batches:
        samples = model.val_step(batch)
        psnrs.append(
            mean_psnr_of([s.warped_exemplar for s in samples], samples))
    model.train()
    return np.array(psnrs)


def reference_psnrs(model, batches: List[dict]) -> Dict[str, np.ndarray]:
    """Per draw: the untrained network's and the reference warps' PSNR."""
    psnrs = {name: [] for name in REFERENCES}
    model.eval()
    for batch in batches:
        samples = model.val_step(batch)
        warps = dict(
            untrained=[s.warped_exemplar for s in samples],
            unwarped=oracle_warps(model, samples, unwarped=True),
            oracle=oracle_warps(model, samples))
        warps['within one cell'] = oracle_warps(model, samples, spread=1)
        for name in REFERENCES:
            psnrs[name].append(mean_psnr_of(warps[name], samples))
    model.train()
    return {name: np.array(values) for name, values in psnrs.items()}


def shares(psnrs: np.ndarray, refs: Dict[str, np.ndarray]) -> np.ndarray:
    return np.array([
        share_of_oracle_gain(p, before, oracle)
        for p, before, oracle in zip(psnrs, refs['untrained'], refs['oracle'])
    ], dtype=float)


def row(step: int, psnrs: np.ndarray, refs: Dict[str, np.ndarray]) -> dict:
    share = shares(psnrs, refs)
    return dict(step=step, psnr_draw0=float(psnrs[0]),
                share_draw0=float(share[0]), psnr_mean=float(psnrs.mean()),
                share_mean=float(share.mean()), share_std=float(share.std()))


def write_table(report: dict, out: str) -> None:
    refs = report['references']
    lines = [
        f'Trained on: {report["settings"]["train_on"]} photos; '
        f'{len(refs["oracle"])} held-out draws (draw 0 = the demo\'s).', '',
        '| warp | PSNR, draw 0 | share, draw 0 | PSNR, mean | share, mean |',
        '|---|---:|---:|---:|---:|'
    ]
    for name in REFERENCES:
        lines.append(f'| {name} | {refs[name][0]:.2f} | '
                     f'{report["reference_shares"][name][0]:.2f} | '
                     f'{np.mean(refs[name]):.2f} | '
                     f'{np.mean(report["reference_shares"][name]):.2f} |')
    for entry in report['curve']:
        lines.append(
            f'| trained, step {entry["step"]} | {entry["psnr_draw0"]:.2f} | '
            f'{entry["share_draw0"]:.2f} | {entry["psnr_mean"]:.2f} | '
            f'{entry["share_mean"]:.2f} ± {entry["share_std"]:.2f} |')
    with open(osp.join(out, 'table.md'), 'w') as file:
        file.write('\n'.join(lines) + '\n')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--config', default=DEMO_CONFIG)
    parser.add_argument('--train-on', choices=('train', 'held-out'),
                        default='train')
    parser.add_argument('--iters', type=int, default=None)
    parser.add_argument('--every', type=int, default=None,
                        help='iterations between evaluations')
    parser.add_argument('--draws', type=int, default=None,
                        help='held-out draws (seeds 0, 1, ...)')
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--lr', type=float, default=1e-3)
    parser.add_argument('--betas', type=float, nargs=2, default=(0.9, 0.999))
    parser.add_argument('--eps', type=float, default=1e-8)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--out', default='work_dirs/demo_warp_ceiling')
    parser.add_argument('--quick', action='store_true',
                        help='20 iterations, 2 draws')
    args = parser.parse_args(argv)
    defaults = dict(iters=20, every=10, draws=2) if args.quick else dict(
        iters=2000, every=250, draws=6)
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def main(argv=None, cfg: Optional[Config] = None) -> dict:
    """Runs the benchmark; ``cfg`` replaces ``--config`` (tests)."""
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    init_default_scope('mmagic')
    cfg = cfg if cfg is not None else Config.fromfile(args.config)
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    held_out = Runner.build_dataloader(grid_hook_loader(cfg))
    batches = [first_batch(held_out, seed) for seed in range(args.draws)]
    refs = reference_psnrs(model, batches)
    report = dict(
        settings=dict(vars(args), config=cfg.filename),
        references={name: refs[name].tolist()
                    for name in REFERENCES},
        reference_shares={
            name: shares(refs[name], refs).tolist()
            for name in REFERENCES
        },
        curve=[])
    print('references (draw 0 / mean): ' + ', '.join(
        f'{name} {refs[name][0]:.2f}/{refs[name].mean():.2f} dB'
        for name in REFERENCES), flush=True)

    net = model.generator.correspondence
    optimizer = torch.optim.Adam(net.parameters(), lr=args.lr,
                                 betas=tuple(args.betas), eps=args.eps)
    batches_in = iter(training_loader(cfg, args.train_on, args.batch))
    start = time.time()
    for step in range(1, args.iters + 1):
        # MCL, Eq. 3, 4, 5 from the correspondence network alone
        losses = model.correspondence_losses(next(batches_in))
        optimizer.zero_grad()
        sum(losses.values()).backward()
        optimizer.step()
        if step % args.every == 0 or step == args.iters:
            entry = row(step, warped_psnrs(model, batches), refs)
            entry['losses'] = {k: v.item() for k, v in losses.items()}
            entry['seconds'] = time.time() - start
            report['curve'].append(entry)
            print(f'step {step} ({entry["seconds"]:.0f} s): warped '
                  f'{entry["psnr_draw0"]:.2f} dB, share '
                  f'{entry["share_draw0"]:.2f} (draw 0), '
                  f'{entry["share_mean"]:.2f} ± {entry["share_std"]:.2f} '
                  f'(mean of {args.draws})', flush=True)
    with open(osp.join(args.out, 'results.json'), 'w') as file:
        json.dump(report, file, indent=2)
    write_table(report, args.out)
    return report


if __name__ == '__main__':
    main()
