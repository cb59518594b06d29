"""ADE20K (SceneParsing / ADEChallengeData2016): label map → scene photo."""
import os
import os.path as osp
from typing import Dict, List, Optional

from mmagic.registry import DATASETS

from .exemplar_pair_dataset import ExemplarPairDataset

SPLIT_FOLDERS = dict(
    training='training', train='training', validation='validation',
    val='validation')


@DATASETS.register_module()
class ADE20KDataset(ExemplarPairDataset):
    """ADE20K scene parsing, 150 classes plus 0 = "other".

    Two layouts are read (``layout='auto'`` picks the one present):

    - ``official``: ``images/{training,validation}/ADE_*.jpg`` and
      ``annotations/{training,validation}/ADE_*.png`` (ADEChallengeData2016);
    - ``cocosnet``: ``{training,validation}/ADE_*.jpg`` with each label PNG
      next to its JPG, as CoCosNet's data preparation leaves it.

    Items: ``query_id`` (the JPG's file name, as CoCosNet's
    ``ade20k_ref.txt`` names it), ``gt_path``, ``cond_path`` (the label PNG)
    and ``exemplar_paths``. Exemplars are looked up by file name in both
    splits (CoCosNet's validation queries take training references).

    Args:
        data_root: the ``ADEChallengeData2016`` folder.
        split: ``'training'``/``'train'`` or ``'validation'``/``'val'``.
        layout: ``'auto'``, ``'official'`` or ``'cocosnet'``.
        **kwargs: see :class:`ExemplarPairDataset`.
    """

    METAINFO = dict(dataset_name='ade20k', num_classes=151)
    LAYOUT = ('ADEChallengeData2016 with images/{training,validation}/*.jpg '
              'and annotations/{training,validation}/*.png, or CoCosNet\'s '
              '{training,validation}/ with each label PNG next to its JPG')

    def __init__(self,
                 data_root: str,
                 split: str = 'training',
                 layout: str = 'auto',
                 **kwargs) -> None:
        if split not in SPLIT_FOLDERS:
            raise ValueError(f'ADE20KDataset: split must be one of '
                             f'{sorted(SPLIT_FOLDERS)}, got {split!r}')
        if layout not in ('auto', 'official', 'cocosnet'):
            raise ValueError(f'ADE20KDataset: layout must be auto, official '
                             f'or cocosnet, got {layout!r}')
        self.layout = layout
        self._image_index: Optional[Dict[str, str]] = None
        super().__init__(data_root=data_root, split=split, **kwargs)

    def folders(self, split_folder: str):
        """(image folder, label folder) of a split in the detected layout."""
        official = (osp.join(self.data_root, 'images', split_folder),
                    osp.join(self.data_root, 'annotations', split_folder))
        side_by_side = (osp.join(self.data_root, split_folder), ) * 2
        if self.layout == 'official':
            return official
        if self.layout == 'cocosnet':
            return side_by_side
        return official if osp.isdir(official[0]) else side_by_side

    def list_samples(self) -> List[dict]:
        image_dir, label_dir = self.folders(SPLIT_FOLDERS[self.split])
        if not osp.isdir(image_dir):
            raise FileNotFoundError(
                f'ADE20KDataset: {image_dir} does not exist; expected '
                f'{self.LAYOUT} (see docs/datasets.md)')
        samples = []
        for name in sorted(os.listdir(image_dir)):
            stem, ext = osp.splitext(name)
            if ext.lower() != '.jpg':
                continue
            label_path = osp.join(label_dir, stem + '.png')
            if not osp.isfile(label_path):
                raise FileNotFoundError(
                    f'ADE20KDataset: label map {label_path} of image '
                    f'{osp.join(image_dir, name)} not found')
            samples.append(
                dict(
                    query_id=name,
                    gt_path=osp.join(image_dir, name),
                    cond_path=label_path))
        return samples

    def exemplar_path(self, name: str) -> Optional[str]:
        if self._image_index is None:
            self._image_index = {}
            for split_folder in ('training', 'validation'):
                image_dir = self.folders(split_folder)[0]
                if osp.isdir(image_dir):
                    self._image_index.update(
                        (entry, osp.join(image_dir, entry))
                        for entry in os.listdir(image_dir))
        return self._image_index.get(osp.basename(name))
