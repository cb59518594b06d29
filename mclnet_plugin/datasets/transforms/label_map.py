"""Segmentation label maps as conditions (ADE20K)."""
import numpy as np
from mmagic.registry import TRANSFORMS
from mmcv.transforms import BaseTransform
from PIL import Image, UnidentifiedImageError


@TRANSFORMS.register_module()
class LoadLabelMap(BaseTransform):
    """Reads the label PNG ``results[key + '_path']`` into ``results[key]``,
    (H, W, 1) uint8 class ids, checked against the dataset's classes and the
    image it labels.

    The ids stay integers through the pipeline (resize it with
    ``interpolation='nearest'``); ``ConditionDataPreprocessor`` turns them
    into ``num_classes`` one-hot channels on the device, which saves the
    dataloader moving 151 float maps per sample.

    Args:
        key: where the label map goes (``results[key + '_path']`` is read).
        num_classes: ids must be in ``[0, num_classes)``; ADE20K: 151
            (0 = "other"/unlabelled, 1…150 the classes).
        image_key: the loaded image the map must match in size (its
            ``ori_<image_key>_shape``); None skips the check.
    """

    def __init__(self,
                 key: str = 'cond',
                 num_classes: int = 151,
                 image_key: str = 'gt') -> None:
        if not 1 < num_classes <= 256:
            raise ValueError('LoadLabelMap: num_classes must be in [2, 256]'
                             f' for 8-bit label PNGs, got {num_classes}')
        self.key = key
        self.num_classes = num_classes
        self.image_key = image_key

    def transform(self, results: dict) -> dict:
        path = results[self.key + '_path']
        try:
            with Image.open(path) as image:
                mode = image.mode
                labels = np.array(image)
        except FileNotFoundError:
            raise FileNotFoundError(f'label map {path} not found') from None
        except (UnidentifiedImageError, OSError) as error:
            raise ValueError(
                f'label map {path} is not a readable image: {error}') from None
        if labels.ndim != 2 or mode not in ('L', 'P', 'I', 'I;16'):
            raise ValueError(
                f'label map {path}: expected a single-channel PNG of class '
                f'ids, got mode {mode} with shape {labels.shape} (colour-'
                'coded label images must be converted to ids first)')
        if labels.max() >= self.num_classes:
            raise ValueError(
                f'label map {path}: class id {int(labels.max())} is outside '
                f'[0, {self.num_classes - 1}] '
                f'(num_classes={self.num_classes})')
        if self.image_key is not None:
            image_shape = results[f'ori_{self.image_key}_shape'][:2]
            if labels.shape != tuple(image_shape):
                raise ValueError(
                    f'label map {path} is {labels.shape[1]}×'
                    f'{labels.shape[0]} (w×h) but its image '
                    f'{results.get(self.image_key + "_path", "")} is '
                    f'{image_shape[1]}×{image_shape[0]}')
        results[self.key] = labels.astype(np.uint8)[..., None]
        results[f'ori_{self.key}_shape'] = results[self.key].shape
        return results
