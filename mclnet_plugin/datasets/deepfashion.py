"""DeepFashion In-shop: body pose → person photo."""
import os.path as osp
from typing import List, Optional

from mmagic.registry import DATASETS

from .exemplar_list import SEPARATORS_NOTE
from .exemplar_pair_dataset import ExemplarPairDataset


@DATASETS.register_module()
class DeepFashionPoseDataset(ExemplarPairDataset):
    """DeepFashion In-shop Clothes Retrieval, one person per photo.

    Layout under ``data_root``:

    - ``<split>.txt``: image paths relative to ``data_root``, one per line
      (``img/WOMEN/Dresses/id_00000002/02_1_front.jpg``; CoCosNet's
      ``img\\WOMEN\\...`` with Windows separators works too);
      ``tools/dataset_converters/deepfashion/prepare_deepfashion.py`` writes
      them from the release's ``list_eval_partition.txt``;
    - the images (``img/<MEN|WOMEN>/<category>/id_xxxxxxxx/NN_K_view.jpg``);
    - per image, keypoints in either form, looked up in this order:
      ``keypoints/<path without img/ and extension>.json`` (written by
      ``tools/dataset_converters/deepfashion/extract_keypoints.py`` with
      MMPose), or OpenPose's ``pose/<same>_candidate.txt`` with its
      ``_subset.txt`` (CoCosNet's release).

    Items: ``query_id`` (the split file's path, as exemplar lists name it),
    ``gt_path``, ``cond_path`` (the keypoint file: ``.json`` or
    ``_candidate.txt``) and ``exemplar_paths``.

    Args:
        data_root: the DeepFashion In-shop folder.
        split: the split file's name without ``.txt`` (``'train'``,
            ``'val'``).
        keypoint_dirs: folders (relative to ``data_root``) searched for the
            JSON and the OpenPose keypoint files; default
            ``dict(json='keypoints', openpose='pose')``.
        **kwargs: see :class:`ExemplarPairDataset`.
    """

    METAINFO = dict(dataset_name='deepfashion')
    LAYOUT = ('DeepFashion In-shop with <split>.txt (image paths), '
              'img/<MEN|WOMEN>/<category>/id_*/NN_K_view.jpg and keypoints/'
              '*.json or pose/*_candidate.txt + *_subset.txt per image')

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 keypoint_dirs: Optional[dict] = None,
                 **kwargs) -> None:
        self.keypoint_dirs = dict(json='keypoints', openpose='pose')
        self.keypoint_dirs.update(keypoint_dirs or {})
        super().__init__(data_root=data_root, split=split, **kwargs)

    def keypoint_path(self, image_name: str) -> str:
        """The keypoint file of an image (``img/...jpg`` relative path)."""
        stem = osp.splitext(image_name)[0]
        if stem.startswith('img/'):
            stem = stem[len('img/'):]
        json_path = osp.join(self.data_root, self.keypoint_dirs['json'],
                             stem + '.json')
        if osp.isfile(json_path):
            return json_path
        candidate_path = osp.join(self.data_root,
                                  self.keypoint_dirs['openpose'],
                                  stem + '_candidate.txt')
        if osp.isfile(candidate_path):
            return candidate_path
        raise FileNotFoundError(
            f'DeepFashionPoseDataset: no keypoints for {image_name}: '
            f'neither {json_path} nor {candidate_path} (with its '
            '_subset.txt) exists; run tools/dataset_converters/deepfashion/'
            'extract_keypoints.py')

    def list_samples(self) -> List[dict]:
        split_path = osp.join(self.data_root, f'{self.split}.txt')
        samples = []
        for line_no, name in self.read_split_file():
            image_path = osp.join(self.data_root, name)
            if not osp.isfile(image_path):
                raise FileNotFoundError(
                    f'{split_path}, line {line_no}: image {image_path} not '
                    f'found ({SEPARATORS_NOTE})')
            samples.append(
                dict(
                    query_id=name,
                    gt_path=image_path,
                    cond_path=self.keypoint_path(name)))
        return samples
