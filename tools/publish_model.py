"""Publish a training checkpoint: the weights that translate, nothing else.

    python tools/publish_model.py CHECKPOINT OUT [--keep ema|online|both]

A checkpoint of the Runner holds the weights of the generator, the
discriminator and (with ``ema_config``) the EMA generator, the Adam states
of both optimisers, the message hub and the schedulers: about 1.7 GB for
the 256×256 model. The published file holds ``state_dict`` (the generator
weights chosen by ``--keep``, under the names the model loads them by) and
a small ``meta`` (the checkpoint's own, such as ``iter`` and ``cfg``, and
``published``: what was kept). It loads with
``torch.load(path, weights_only=True)`` and with tools/test.py and
tools/translate.py like the full checkpoint. The discriminator is never
kept: testing and translating do not use it; keep the full checkpoint to
resume or fine-tune.

``--keep``: ``ema`` (the default when the checkpoint has EMA weights: the
model translates with them), ``online`` (the default otherwise), ``both``.

OUT is a path prefix, a ``.pth`` name or a folder; the file written is
``<prefix>-<first 8 hex digits of its sha256>.pth`` (for a folder, the
prefix is the checkpoint's name), e.g. ``mclnet_ade20k-1a2b3c4d.pth``.
See docs/checkpoints.md.
"""
import argparse
import hashlib
import os
import os.path as osp
import sys
import tempfile
from typing import Dict, List, Optional, Tuple

import torch

from mclnet_plugin.apis.inference_model import (UNUSED_WEIGHTS,
                                                without_ddp_prefix)
from mclnet_plugin.compat import load_local_checkpoint

# --keep → the generators whose weights are published
KEPT_GENERATORS = dict(
    ema=('generator_ema', ),
    online=('generator', ),
    both=('generator', 'generator_ema'))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write the weights of a checkpoint that test and '
        'translate need, named by their sha256')
    parser.add_argument('checkpoint', help='a checkpoint of tools/train.py')
    parser.add_argument(
        'out',
        help='output prefix, .pth name or folder; "-<sha256[:8]>.pth" is '
        'appended')
    parser.add_argument(
        '--keep',
        choices=sorted(KEPT_GENERATORS),
        help='which generator to keep (default: ema if the checkpoint has '
        'EMA weights, else online)')
    return parser.parse_args(argv)


def read_checkpoint(path: str) -> dict:
    """The whole checkpoint (message hub and optimiser states included);
    an error naming ``path`` if it is not a checkpoint with a state dict."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint {path} not found')
    try:
        checkpoint = load_local_checkpoint(path, map_location='cpu')
    except Exception as error:  # unpickling bad bytes raises many kinds
        raise ValueError(f'{path} is not a readable PyTorch checkpoint: '
                         f'{error}') from None
    if not isinstance(checkpoint, dict) or not isinstance(
            checkpoint.get('state_dict'), dict):
        raise ValueError(f'{path} has no state_dict: not a checkpoint of '
                         'tools/train.py')
    return checkpoint


def select_weights(state_dict: Dict[str, torch.Tensor], keep: Optional[str],
                   path: str) -> Tuple[Dict[str, torch.Tensor], str]:
    """The weights to publish and the ``--keep`` they follow (resolved if
    None): those of the kept generators and of any module that is neither
    a generator nor the discriminator, under their names in the model."""
    present = {key.split('.')[0] for key in state_dict}
    if keep is None:
        keep = 'ema' if 'generator_ema' in present else 'online'
    absent = [name for name in KEPT_GENERATORS[keep] if name not in present]
    if absent:
        hint = (' (trained without ema_config): use --keep online'
                if 'generator_ema' in absent else '')
        raise ValueError(f'{path} has no {" or ".join(absent)} weights'
                         f'{hint}')
    dropped = {'discriminator', 'generator', 'generator_ema'}
    dropped -= set(KEPT_GENERATORS[keep])
    return {
        key: value
        for key, value in state_dict.items() if
        key.split('.')[0] not in dropped and not key.startswith(UNUSED_WEIGHTS)
    }, keep


def is_plain(value) -> bool:
    """Whether ``torch.load(..., weights_only=True)`` can read ``value``
    back (numbers, strings and containers of them)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(is_plain(item) for item in value)
    if isinstance(value, dict):
        return all(
            isinstance(key, (str, int)) and is_plain(item)
            for key, item in value.items())
    return False


def published_meta(meta: dict, kept: List[str], source: str) -> dict:
    """The checkpoint's meta entries that load with ``weights_only=True``
    (iter, epoch, cfg, seed, ...) and what was published from where."""
    published = {key: value for key, value in meta.items() if is_plain(value)}
    published['published'] = dict(source=osp.basename(source), kept=kept)
    return published


def output_prefix(out: str, checkpoint: str) -> str:
    """``out`` without ``.pth``; for a folder, the checkpoint's name in
    it."""
    if osp.isdir(out):
        return osp.join(out, osp.splitext(osp.basename(checkpoint))[0])
    return out[:-len('.pth')] if out.endswith('.pth') else out


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as file:
        for block in iter(lambda: file.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def save_with_hash(published: dict, prefix: str) -> str:
    """Writes ``<prefix>-<sha256[:8]>.pth`` atomically: a temporary file in
    the same folder, synced, hashed, then renamed, so the name never shows
    a partial file."""
    folder = osp.dirname(osp.abspath(prefix))
    os.makedirs(folder, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        dir=folder, prefix=f'.{osp.basename(prefix)}-', suffix='.tmp')
    try:
        with os.fdopen(handle, 'wb') as file:
            torch.save(published, file)
            file.flush()
            os.fsync(file.fileno())
        # mkstemp's files are private; a published one is not
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        path = f'{prefix}-{file_sha256(temporary)[:8]}.pth'
        os.replace(temporary, path)
    except BaseException:
        if osp.exists(temporary):
            os.remove(temporary)
        raise
    # the rename is durable once the folder's entry is on disk
    folder_handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(folder_handle)
    finally:
        os.close(folder_handle)
    return path


def tensor_bytes(weights: Dict[str, torch.Tensor]) -> int:
    return sum(value.numel() * value.element_size()
               for value in weights.values())


def human_size(num_bytes: int) -> str:
    if num_bytes >= 1e9:
        return f'{num_bytes / 1e9:.2f} GB'
    return f'{num_bytes / 1e6:.1f} MB'


def publish(checkpoint_path: str, out: str, keep: Optional[str] = None) -> str:
    """Publishes ``checkpoint_path`` (module doc); prints what it kept and
    the sizes; returns the path written."""
    checkpoint = read_checkpoint(checkpoint_path)
    state_dict = without_ddp_prefix(checkpoint['state_dict'])
    weights, keep = select_weights(state_dict, keep, checkpoint_path)
    kept = sorted({key.split('.')[0] for key in weights})
    meta = published_meta(checkpoint.get('meta') or {}, kept, checkpoint_path)
    path = save_with_hash(
        dict(meta=meta, state_dict=weights),
        output_prefix(out, checkpoint_path))
    modules = sorted({key.split('.')[0] for key in state_dict})
    dropped = [name for name in modules if name not in kept]
    dropped += [
        name for name in checkpoint if name not in ('state_dict', 'meta')
    ]
    in_size, out_size = osp.getsize(checkpoint_path), osp.getsize(path)
    print(f'read  {checkpoint_path} ({human_size(in_size)})')
    print(f'kept  {", ".join(kept)}: {len(weights)} tensors, '
          f'{human_size(tensor_bytes(weights))}; meta: '
          f'{", ".join(sorted(meta))}')
    print(f'dropped {", ".join(dropped)}')
    print(f'wrote {path} ({human_size(out_size)}, '
          f'{100 * out_size / in_size:.0f}% of the checkpoint)')
    return path


def main(argv=None) -> str:
    args = parse_args(argv)
    try:
        return publish(args.checkpoint, args.out, args.keep)
    except (OSError, ValueError) as error:
        sys.exit(f'publish_model.py: error: {error}')


if __name__ == '__main__':
    main()
