"""CPU smoke run of the correspondence core on real photos.

Fits a small correspondence network (E_X, E_Z, SCM, cosine-softmax warp) on
the colour photos bundled inside the scikit-image wheel: the condition is the
Canny edge map of a photo, the exemplar a randomly rotated/scaled/shifted copy
of it, the ground truth the photo. Losses: the marginal contrastive loss
(Alg. 1) between condition and ground-truth matching features, and the
pseudo-pair loss (Eq. 5), L1 between the warped exemplar and the ground truth.
Then it warps held-out photos and writes

    <work-dir>/warp_grid.png   rows: condition | exemplar | warped before
                               training | warped after | ground truth
    <work-dir>/metrics.json    warped-exemplar PSNR before and after

Usage: python tools/demo_correspondence.py [--iters 200] [--work-dir DIR]
"""
import argparse
import json
import math
import os
import os.path as osp
import time

import cv2
import numpy as np
import skimage
import torch
import torch.nn.functional as F
from mmagic.registry import MODELS
from mmengine.logging import MMLogger
from mmengine.optim import OptimWrapper

import mclnet_plugin  # noqa: F401  (registers the plugin)

TRAIN_PHOTOS = ('astronaut.png', 'coffee.png', 'rocket.jpg',
                'motorcycle_left.png', 'ihc.png', 'hubble_deep_field.jpg')
HELD_OUT_PHOTOS = ('chelsea.png', 'motorcycle_right.png')
SIZE = 128


def load_photo(name: str) -> np.ndarray:
    """An RGB uint8 photo from scikit-image's bundled data folder."""
    path = osp.join(osp.dirname(skimage.__file__), 'data', name)
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(
            f'{path} is missing or unreadable: the demo needs the photos '
            'shipped inside the scikit-image wheel (pip install '
            '"scikit-image<0.26")')
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def random_crop(photo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random square crop (60-100% of the short side) resized to SIZE."""
    height, width = photo.shape[:2]
    side = int(min(height, width) * rng.uniform(0.6, 1.0))
    top = rng.integers(0, height - side + 1)
    left = rng.integers(0, width - side + 1)
    crop = photo[top:top + side, left:left + side]
    return cv2.resize(crop, (SIZE, SIZE), interpolation=cv2.INTER_AREA)


def edge_condition(image: np.ndarray) -> np.ndarray:
    """Canny edges of an RGB uint8 image as a (1, H, W) float map in {0, 1}."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    edges = cv2.Canny(cv2.GaussianBlur(grey, (3, 3), 0), 60, 140)
    return (edges[None] > 0).astype(np.float32)


def random_affine(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rotate ±20°, scale 0.85-1.15, shift ±12%: the exemplar's geometry."""
    matrix = cv2.getRotationMatrix2D((SIZE / 2, SIZE / 2),
                                     rng.uniform(-20, 20),
                                     rng.uniform(0.85, 1.15))
    matrix[:, 2] += rng.uniform(-0.12, 0.12, size=2) * SIZE
    return cv2.warpAffine(
        image, matrix, (SIZE, SIZE), borderMode=cv2.BORDER_REFLECT)


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """RGB uint8 (H, W, 3) -> (3, H, W) in [-1, 1]."""
    return torch.from_numpy(image).permute(2, 0, 1).float() / 127.5 - 1


def make_triplet(photo, rng):
    gt = random_crop(photo, rng)
    return (torch.from_numpy(edge_condition(gt)),
            to_tensor(random_affine(gt, rng)), to_tensor(gt))


def make_batch(photos, rng, batch_size):
    picks = rng.integers(0, len(photos), size=batch_size)
    cond, exemplar, gt = zip(*(make_triplet(photos[i], rng) for i in picks))
    return torch.stack(cond), torch.stack(exemplar), torch.stack(gt)


def build_network() -> torch.nn.Module:
    encoder = dict(
        type='CorrespondenceEncoder',
        out_channels=64,
        channels=(16, 32, 32, 64, 64),
        strides=(1, 2, 1, 2, 1),
        num_res_blocks=1,
        with_spectral_norm=False)
    return MODELS.build(
        dict(
            type='CorrespondenceNet',
            cond_encoder=dict(encoder, in_channels=1),
            image_encoder=dict(encoder, in_channels=3),
            scm=dict(
                type='SelfCorrelationMap',
                num_positions=(SIZE // 4)**2,
                out_channels=64),
            temperature=0.01))


def psnr(image: torch.Tensor, target: torch.Tensor) -> float:
    """PSNR in dB of images in [-1, 1] (peak-to-peak 2)."""
    mse = F.mse_loss(image.clamp(-1, 1), target).item()
    return 10 * math.log10(4.0 / mse)


@torch.no_grad()
def warp_held_out(net, held_out):
    net.eval()
    cond, exemplar, gt = held_out
    warped = net(cond, exemplar)['warped_exemplar']
    net.train()
    return warped, psnr(warped, gt)


def save_grid(path, held_out, warped_before, warped_after):
    cond, exemplar, gt = held_out
    rows = []
    for i in range(gt.shape[0]):
        tiles = [cond[i].expand(3, -1, -1) * 2 - 1, exemplar[i],
                 warped_before[i], warped_after[i], gt[i]]
        rows.append(torch.cat([t.clamp(-1, 1) for t in tiles], dim=2))
    grid = torch.cat(rows, dim=1)
    image = ((grid + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
    cv2.imwrite(path, cv2.cvtColor(image, cv2.COLOR_RGB2BGR))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--iters', type=int, default=200)
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument('--lr', type=float, default=1e-3)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--work-dir', default='work_dirs/demo_correspondence')
    return parser.parse_args()


def main():
    args = parse_args()
    os.makedirs(args.work_dir, exist_ok=True)
    logger = MMLogger.get_instance(
        'demo_correspondence',
        log_file=osp.join(args.work_dir, 'demo.log'),
        log_level='INFO')
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    train_photos = [load_photo(name) for name in TRAIN_PHOTOS]
    held_out_rng = np.random.default_rng(1234)
    held_out = [
        torch.stack(t) for t in zip(*(make_triplet(load_photo(name),
                                                   held_out_rng)
                                      for name in HELD_OUT_PHOTOS))
    ]

    net = build_network()
    mcl = MODELS.build(dict(type='MarginalContrastiveLoss', margin=0.4))
    optim = OptimWrapper(
        torch.optim.Adam(net.parameters(), lr=args.lr, betas=(0.5, 0.999)))
    warped_before, psnr_before = warp_held_out(net, held_out)
    logger.info(f'held-out warped-exemplar PSNR before training: '
                f'{psnr_before:.2f} dB')

    start = time.time()
    for step in range(1, args.iters + 1):
        cond, exemplar, gt = make_batch(train_photos, rng, args.batch_size)
        out = net(cond, exemplar, gt)
        loss_mcl = mcl(out['cond_match'], out['gt_match'])
        # Eq. 5: the exemplar is an augmented ground truth, so the warped
        # exemplar has a known target: the ground truth itself.
        gt_pooled = F.adaptive_avg_pool2d(gt,
                                          out['exemplar_pooled'].shape[-2:])
        loss_pse = F.l1_loss(out['warped_exemplar_pooled'], gt_pooled)
        optim.update_params(loss_mcl + 10 * loss_pse)
        if step % 25 == 0 or step == args.iters:
            logger.info(f'iter {step}/{args.iters}  '
                        f'loss_mcl {loss_mcl.item():.3f}  '
                        f'loss_pse {loss_pse.item():.4f}  '
                        f'{(time.time() - start) / step:.2f} s/iter')

    warped_after, psnr_after = warp_held_out(net, held_out)
    logger.info(f'held-out warped-exemplar PSNR after training: '
                f'{psnr_after:.2f} dB (before: {psnr_before:.2f} dB)')
    grid_path = osp.join(args.work_dir, 'warp_grid.png')
    save_grid(grid_path, held_out, warped_before, warped_after)
    metrics = dict(
        psnr_before=round(psnr_before, 3),
        psnr_after=round(psnr_after, 3),
        iters=args.iters,
        seconds=round(time.time() - start, 1))
    with open(osp.join(args.work_dir, 'metrics.json'), 'w') as f:
        json.dump(metrics, f, indent=2)
    logger.info(f'wrote {grid_path} and metrics.json')


if __name__ == '__main__':
    main()
