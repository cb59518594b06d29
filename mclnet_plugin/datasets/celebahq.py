"""CelebA-HQ: face edges (from landmarks or part masks) → face photo."""
import os.path as osp
from typing import List, Optional

from mmagic.registry import DATASETS

from .exemplar_pair_dataset import ExemplarPairDataset
from .face_structure_files import celebamask_part_paths

CONDITION_SOURCES = ('landmarks', 'parts')


@DATASETS.register_module()
class CelebAHQEdgeDataset(ExemplarPairDataset):
    """CelebA-HQ faces (as released with CelebAMask-HQ), 30 000 photos.

    Layout under ``data_root``:

    - ``<split>.txt``: image names (``123`` or ``123.jpg``), one per line;
      ``tools/dataset_converters/celebahq/make_splits.py`` writes them;
    - ``CelebA-HQ-img/<index>.jpg``;
    - the face structure, by ``condition_source``:
      ``'landmarks'`` (the paper's input): ``landmarks/<index>.json`` or
      ``.txt``, 68 iBUG points per face
      (``tools/dataset_converters/celebahq/extract_landmarks.py``);
      ``'parts'`` (CoCosNet's input): CelebAMask-HQ's
      ``CelebAMask-HQ-mask-anno/<index // 2000>/<index:05d>_<part>.png``.

    Items: ``query_id`` (``<index>.jpg``, as exemplar lists name it),
    ``gt_path``, ``cond_path`` (the landmark file) or ``part_mask_paths``
    (part name → PNG), and ``exemplar_paths``.

    Args:
        data_root: the CelebAMask-HQ folder.
        split: the split file's name without ``.txt``.
        condition_source: ``'landmarks'`` or ``'parts'``.
        **kwargs: see :class:`ExemplarPairDataset`.
    """

    METAINFO = dict(dataset_name='celebahq')
    IMAGE_DIR = 'CelebA-HQ-img'
    LANDMARK_DIR = 'landmarks'
    MASK_DIR = 'CelebAMask-HQ-mask-anno'
    LAYOUT = ('CelebAMask-HQ with <split>.txt (image names), '
              'CelebA-HQ-img/<index>.jpg and landmarks/<index>.json (or '
              '.txt), or CelebAMask-HQ-mask-anno/ part masks')

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 condition_source: str = 'landmarks',
                 **kwargs) -> None:
        if condition_source not in CONDITION_SOURCES:
            raise ValueError(
                f'CelebAHQEdgeDataset: condition_source must be one of '
                f'{CONDITION_SOURCES}, got {condition_source!r}')
        self.condition_source = condition_source
        super().__init__(data_root=data_root, split=split, **kwargs)

    def list_images(self) -> List[dict]:
        """``query_id`` and ``gt_path`` of the split's photos."""
        split_path = osp.join(self.data_root, f'{self.split}.txt')
        images = []
        for line_no, name in self.read_split_file():
            query_id = name if osp.splitext(name)[1] else name + '.jpg'
            image_path = osp.join(self.data_root, self.IMAGE_DIR, query_id)
            if not osp.isfile(image_path):
                raise FileNotFoundError(
                    f'{split_path}, line {line_no}: image {image_path} not '
                    'found')
            images.append(dict(query_id=query_id, gt_path=image_path))
        return images

    def list_samples(self) -> List[dict]:
        samples = self.list_images()
        for sample in samples:
            stem = osp.splitext(sample['query_id'])[0]
            if self.condition_source == 'landmarks':
                sample['cond_path'] = self.landmark_path(stem)
            else:
                sample['part_mask_paths'] = self.part_mask_paths(stem)
        return samples

    def landmark_path(self, stem: str) -> str:
        base = osp.join(self.data_root, self.LANDMARK_DIR, stem)
        for ext in ('.json', '.txt'):
            if osp.isfile(base + ext):
                return base + ext
        raise FileNotFoundError(
            f'CelebAHQEdgeDataset: no landmarks for {stem}: neither '
            f'{base}.json nor {base}.txt exists; run tools/dataset_converters'
            '/celebahq/extract_landmarks.py')

    def part_mask_paths(self, stem: str) -> dict:
        mask_root = osp.join(self.data_root, self.MASK_DIR)
        if not stem.isdigit():
            raise ValueError(f'CelebAHQEdgeDataset: {stem!r} is not a '
                             'CelebA-HQ index, needed to find its part masks')
        paths = celebamask_part_paths(mask_root, int(stem))
        if not paths:
            raise FileNotFoundError(
                f'CelebAHQEdgeDataset: no part masks for image {stem} in '
                f'{mask_root}/{int(stem) // 2000}/ (expected '
                f'{int(stem):05d}_<part>.png)')
        return paths

    def exemplar_path(self, name: str) -> Optional[str]:
        if not osp.splitext(name)[1]:
            name += '.jpg'
        path = osp.join(self.data_root, self.IMAGE_DIR, name)
        return path if osp.isfile(path) else None
