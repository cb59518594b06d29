"""The colour photos inside the scikit-image wheel, as a tiny dataset."""
import os.path as osp
from typing import List, Optional, Sequence

import skimage
from mmagic.registry import DATASETS
from mmengine.dataset import BaseDataset

# Photos shipped inside the wheel (skimage.data downloads others on demand,
# which fails offline).
DEMO_TRAIN_PHOTOS = ('astronaut.png', 'coffee.png', 'rocket.jpg',
                     'motorcycle_left.png', 'ihc.png',
                     'hubble_deep_field.jpg')
DEMO_HELD_OUT_PHOTOS = ('chelsea.png', 'motorcycle_right.png')


def bundled_photo_folder() -> str:
    """The data folder of the installed scikit-image."""
    return osp.join(osp.dirname(skimage.__file__), 'data')


@DATASETS.register_module()
class BundledPhotoDataset(BaseDataset):
    """A few photos from a local folder (by default scikit-image's bundled
    photos) for the embedded demo; the pipeline derives condition and
    exemplar from each photo.

    Each item starts as ``dict(gt_path=..., sample_idx=...)``.

    Args:
        photos: file names inside ``data_root``.
        data_root: folder of the photos; None = scikit-image's data folder.
        pipeline: transforms applied to each item.
        test_mode: passed to ``BaseDataset``.
    """

    METAINFO = dict(dataset_name='bundled_photos')

    def __init__(self,
                 photos: Sequence[str] = DEMO_TRAIN_PHOTOS,
                 data_root: Optional[str] = None,
                 pipeline: Sequence[dict] = (),
                 test_mode: bool = False,
                 **kwargs) -> None:
        self.photos = tuple(photos)
        super().__init__(
            data_root=data_root or bundled_photo_folder(),
            pipeline=list(pipeline),
            test_mode=test_mode,
            **kwargs)

    def load_data_list(self) -> List[dict]:
        if not self.photos:
            raise ValueError('BundledPhotoDataset: `photos` is empty')
        missing = [
            name for name in self.photos
            if not osp.isfile(osp.join(self.data_root, name))
        ]
        if missing:
            raise FileNotFoundError(
                f'BundledPhotoDataset: {missing} not found in '
                f'{self.data_root} (expected the photos that ship inside the'
                ' scikit-image wheel, e.g. astronaut.png)')
        return [
            dict(gt_path=osp.join(self.data_root, name), sample_idx=idx)
            for idx, name in enumerate(self.photos)
        ]
