"""Known-flow correspondence benchmark: how well does each loss variant of
MCL-Net's correspondence network (E_X, E_Z, SCM, warp; no generator) find
the true correspondence on real photos? A small Table 4 of the paper.

Photos (scikit-image's bundled ones, plus ``--photos DIR``) are warped by a
random smooth map of known flow and colour-jittered into exemplars; the
condition (Canny edges or a coarse segmentation) comes from the undeformed
photo; the Middlebury motorcycle stereo pair is a real case. Every variant
trains with the same seeds, data and initialisation, then is measured on
held-out photos: EPE of the argmax correspondence (feature-grid cells),
warped-exemplar L1 / PSNR / SSIM against the undeformed photo, and the
same for the oracle (the exemplar warped by the true flow at the network's
resolution). See docs/correspondence_quality.md.

  python benchmarks/correspondence_quality.py [--quick] [--out DIR]
      [--photos DIR] [--condition edges|segments|both] [--seeds 0 1 2]
      [--iters 150] [--batch 4] [--size 64] [--threads 2]
"""
import argparse
import copy
import os
import os.path as osp
import sys
import time
from typing import Dict, List

# Spinning OpenMP workers made 2-thread runs several times slower on a
# shared 2-core machine (docs/benchmarks.md); must precede torch's import.
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

import numpy as np  # noqa: E402
import torch  # noqa: E402
from skimage.metrics import structural_similarity  # noqa: E402

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from known_flow import argmax_correspondence, end_point_error  # noqa: E402
from known_flow_pairs import (CONDITIONS, fit_palette,  # noqa: E402
                              load_photos, stereo_pairs, synthetic_pair)
from mmagic.registry import MODELS  # noqa: E402
from mmengine.config import Config  # noqa: E402

import mclnet_plugin  # noqa: E402,F401  (registers the modules)
from mclnet_plugin.evaluation.oracle_warp import oracle_warp  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO_CONFIG = osp.join(REPO, 'configs', 'mclnet_demo.py')
MATCH_KERNEL = 1
MARGINS = (0.1, 0.2, 0.3, 0.4, 0.5)
NUM_CLASSES = 8  # segmentation classes (palette colours)
EVAL_SEED = 10**6  # the held-out pairs are the same for every seed
METRICS = ('epe', 'within_1', 'l1', 'psnr', 'ssim')


def variant_list(best_margin: float = None) -> List[dict]:
    """Table 4's rows (the last one needs the best margin of the MCL rows).
    ``mcl``: overrides of the demo's MCL config; None: no MCL."""
    variants = [dict(name='baseline', scm=False, mcl=None),
                dict(name='+CL (m=0)', scm=False, mcl=dict(margin=0.0))]
    variants += [dict(name=f'+MCL (m={m})', scm=False, mcl=dict(margin=m))
                 for m in MARGINS]
    variants += [
        dict(name='+SCM', scm=True, mcl=None),
        dict(name='authors (m=0.25, 64 samples, detached, one-way)',
             scm=False,
             mcl=dict(margin=0.25, num_samples=64, detach_target=True,
                      bidirectional=False))
    ]
    if best_margin is not None:
        variants.append(dict(name=f'+MCL (m={best_margin})+SCM', scm=True,
                             mcl=dict(margin=best_margin)))
    return variants


def quick_variants() -> List[dict]:
    return [dict(name='baseline', scm=False, mcl=None),
            dict(name='+MCL (m=0.4)', scm=False, mcl=dict(margin=0.4))]


class Setup:
    """The demo's correspondence network and loss configs at the benchmark's
    size; builds the network and the losses of one variant."""

    def __init__(self, size: int) -> None:
        cfg = Config.fromfile(DEMO_CONFIG).model
        self.net_cfg = cfg.generator.correspondence.to_dict()
        # per-position matching, as the documented tables were measured
        # (the demo itself now matches CoCosNet's 3×3 neighbourhoods)
        self.net_cfg['match_kernel'] = MATCH_KERNEL
        self.loss_cfgs = {
            key: cfg.losses[key].to_dict()
            for key in ('mcl', 'feature_consistency', 'cycle', 'pseudo_pair')
        }
        self.size = size
        self.stride = 4  # the encoders' two stride-2 convolutions

    def build_net(self, variant: dict, in_channels: int) -> torch.nn.Module:
        net_cfg = copy.deepcopy(self.net_cfg)
        net_cfg['cond_encoder']['in_channels'] = in_channels
        net_cfg['scm'] = dict(
            net_cfg['scm'],
            num_positions=(self.size // self.stride)**2) \
            if variant['scm'] else None
        return MODELS.build(net_cfg)

    def build_losses(self, variant: dict) -> Dict[str, torch.nn.Module]:
        cfgs = {key: self.loss_cfgs[key]
                for key in ('feature_consistency', 'cycle', 'pseudo_pair')}
        if variant['mcl'] is not None:
            cfgs['mcl'] = dict(self.loss_cfgs['mcl'], **variant['mcl'])
        return {key: MODELS.build(cfg) for key, cfg in cfgs.items()}


def stack(pairs: List[dict], index=None) -> Dict[str, torch.Tensor]:
    index = range(len(pairs)) if index is None else index
    return {
        key: torch.from_numpy(np.stack([pairs[i][key] for i in index]))
        for key in pairs[0]
    }


def run_net(net: torch.nn.Module, batch: dict, with_cycle: bool) -> dict:
    return net(batch['cond'], batch['exemplar'], batch['gt'], with_cycle)


def correspondence_losses(losses: dict, outputs: dict,
                          gt: torch.Tensor) -> torch.Tensor:
    """Eq. 3 + Eq. 4 + Eq. 5 (+ Eq. 1 / Alg. 1), the terms MCLNet computes
    from the same outputs; every exemplar here is a pseudo pair."""
    warped = outputs['warped_exemplar_pooled']
    total = losses['feature_consistency'](outputs['cond_feat'],
                                          outputs['gt_feat'])
    total = total + losses['cycle'](outputs['cycled_exemplar_pooled'],
                                    outputs['exemplar_pooled'])
    total = total + losses['pseudo_pair'](
        warped, torch.nn.functional.adaptive_avg_pool2d(gt,
                                                        warped.shape[-2:]))
    if 'mcl' in losses:
        total = total + losses['mcl'](outputs['cond_match'],
                                      outputs['gt_match'])
    return total


def train(setup: Setup, variant: dict, pool: List[dict], seed: int,
          iters: int, batch_size: int, lr: float) -> torch.nn.Module:
    """Adam on the correspondence losses; the seed fixes the initialisation
    and the batches, so every variant sees the same."""
    torch.manual_seed(seed)
    net = setup.build_net(variant, pool[0]['cond'].shape[0])
    losses = setup.build_losses(variant)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    batches = torch.Generator().manual_seed(seed)
    net.train()
    for _ in range(iters):
        index = torch.randint(len(pool), (batch_size, ), generator=batches)
        batch = stack(pool, index.tolist())
        outputs = run_net(net, batch, with_cycle=True)
        loss = correspondence_losses(losses, outputs, batch['gt'])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return net


def to_unit(image: torch.Tensor) -> np.ndarray:
    """(B, 3, H, W) in [-1, 1] → (B, H, W, 3) in [0, 1]."""
    return ((image.clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1).numpy()


def image_metrics(warped: torch.Tensor, gt: torch.Tensor) -> dict:
    """Per-image L1, PSNR (dB) and SSIM in [0, 1] intensities."""
    warped, gt = to_unit(warped), to_unit(gt)
    l1 = np.abs(warped - gt).mean(axis=(1, 2, 3))
    mse = ((warped - gt)**2).mean(axis=(1, 2, 3))
    ssim = [structural_similarity(w, g, channel_axis=-1, data_range=1.0)
            for w, g in zip(warped, gt)]
    return dict(l1=l1, psnr=10 * np.log10(1 / np.maximum(mse, 1e-10)),
                ssim=np.array(ssim))


def oracle_metrics(pairs: List[dict], upsample_mode: str) -> dict:
    batch = stack(pairs)
    warped = oracle_warp(batch['exemplar'], batch['cell_corr'],
                         upsample_mode)
    return dict(image_metrics(warped, batch['gt']), warped=warped)


@torch.no_grad()
def evaluate(net: torch.nn.Module, pairs: List[dict]) -> dict:
    """Per-sample metrics of the net on ``pairs`` and its warped
    exemplars."""
    net.eval()
    batch = stack(pairs)
    outputs = run_net(net, batch, with_cycle=False)
    cond_corr = net.correlation_vectors(outputs['cond_match'])
    exemplar_corr = net.correlation_vectors(outputs['exemplar_match'])
    width = outputs['cond_feat'].shape[-1]
    predicted = argmax_correspondence(cond_corr, exemplar_corr, width)
    epe, within = end_point_error(predicted, batch['cell_corr'].flatten(1, 2),
                                  batch['cell_valid'].flatten(1))
    metrics = image_metrics(outputs['warped_exemplar'], batch['gt'])
    return dict(metrics, epe=epe.numpy(), within_1=within.numpy(),
                warped=outputs['warped_exemplar'])


def summarise(per_sample: dict) -> dict:
    return {key: float(np.mean(per_sample[key]))
            for key in METRICS if key in per_sample}


def make_eval_sets(photos: dict, args, condition: str,
                   palette: np.ndarray, stride: int) -> dict:
    rng = np.random.default_rng(EVAL_SEED)
    synthetic = [
        synthetic_pair(photo, args.size, stride, condition, palette, rng)
        for photo in photos['held_out'] for _ in range(args.eval_warps)
    ]
    return dict(synthetic=synthetic,
                stereo=stereo_pairs(args.size, stride, condition, palette))


def run_condition(setup: Setup, photos: dict, palette: np.ndarray,
                  condition: str, args, log) -> dict:
    """Every variant × seed on one condition type; returns the results and
    the warped images of seed 0 for the picture grid."""
    eval_sets = make_eval_sets(photos, args, condition, palette,
                               setup.stride)
    upsample = setup.net_cfg.get('upsample_mode', 'nearest')
    oracle = {name: oracle_metrics(pairs, upsample)
              for name, pairs in eval_sets.items()}
    results = dict(oracle={name: summarise(m) for name, m in oracle.items()},
                   variants={})
    pictures = dict(
        exemplar={n: stack(p)['exemplar'] for n, p in eval_sets.items()},
        cond={n: stack(p)['cond'] for n, p in eval_sets.items()},
        truth={n: stack(p)['gt'] for n, p in eval_sets.items()},
        warped=dict(oracle={n: m['warped'] for n, m in oracle.items()}))

    def record(name: str, seed: int, net: torch.nn.Module) -> None:
        row = results['variants'].setdefault(name, {})
        for set_name, pairs in eval_sets.items():
            measured = evaluate(net, pairs)
            row.setdefault(set_name, []).append(
                dict(summarise(measured), seed=seed))
            if seed == args.seeds[0]:
                pictures['warped'].setdefault(
                    name, {})[set_name] = measured['warped']

    pools = {}
    for seed in args.seeds:
        rng = np.random.default_rng(seed)
        pools[seed] = [
            synthetic_pair(photos['train'][i % len(photos['train'])],
                           args.size, setup.stride, condition, palette, rng)
            for i in range(args.pool)
        ]
        torch.manual_seed(seed)
        in_channels = pools[seed][0]['cond'].shape[0]
        record('untrained', seed, setup.build_net(dict(scm=False),
                                                  in_channels))

    def run_variants(variants: List[dict]) -> None:
        for variant in variants:
            for seed in args.seeds:
                start = time.time()
                net = train(setup, variant, pools[seed], seed, args.iters,
                            args.batch, args.lr)
                record(variant['name'], seed, net)
                last = results['variants'][variant['name']]['synthetic'][-1]
                log(f'{condition:8s} seed {seed} {variant["name"]:50s} '
                    f'EPE {last["epe"]:.2f} PSNR {last["psnr"]:.2f} '
                    f'({time.time() - start:.0f} s)')

    if args.quick:
        run_variants(quick_variants())
        return dict(results, best_margin=None), pictures
    run_variants(variant_list())
    best_margin = min(
        MARGINS,
        key=lambda m: np.mean([
            r['epe'] for r in results['variants'][f'+MCL (m={m})']['synthetic']
        ]))
    run_variants(variant_list(best_margin)[-1:])
    return dict(results, best_margin=best_margin), pictures


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--quick', action='store_true',
                        help='1 seed, edges, untrained/baseline/MCL 0.4')
    parser.add_argument('--out', default='work_dirs/correspondence_quality')
    parser.add_argument('--photos', help='folder of extra photos')
    parser.add_argument('--condition', choices=CONDITIONS + ('both', ),
                        default=None, help='default: both (--quick: edges)')
    parser.add_argument('--seeds', type=int, nargs='+', default=None)
    parser.add_argument('--iters', type=int, default=None)
    parser.add_argument('--batch', type=int, default=4)
    parser.add_argument('--lr', type=float, default=1e-3)
    parser.add_argument('--size', type=int, default=64,
                        help='image size; features are size/4')
    parser.add_argument('--pool', type=int, default=None,
                        help='training pairs generated per seed')
    parser.add_argument('--eval-warps', type=int, default=6,
                        help='warps of each held-out photo')
    parser.add_argument('--threads', type=int, default=2)
    args = parser.parse_args(argv)
    quick = dict(condition='edges', seeds=[0], iters=100, pool=64)
    full = dict(condition='both', seeds=[0, 1, 2], iters=120, pool=256)
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    log_file = open(osp.join(args.out, 'log.txt'), 'w')

    def log(line: str) -> None:
        print(line, flush=True)
        print(line, file=log_file, flush=True)

    start = time.time()
    photos = load_photos(args.photos)
    palette = fit_palette(photos['train'], NUM_CLASSES)
    setup = Setup(args.size)
    conditions = CONDITIONS if args.condition == 'both' else (
        args.condition, )
    report = dict(settings=dict(vars(args), conditions=conditions),
                  conditions={})
    pictures = {}
    for condition in conditions:
        report['conditions'][condition], pictures[condition] = \
            run_condition(setup, photos, palette, condition, args, log)
    report['runtime_s'] = time.time() - start
    from correspondence_report import write_report
    write_report(report, pictures, args.out)
    log(f'done in {report["runtime_s"]:.0f} s; results in {args.out}')
    log_file.close()
    return report


if __name__ == '__main__':
    main()
