"""Translating your own condition and exemplar with a trained MCL-Net."""
import copy
import logging
import os
import os.path as osp
import tempfile
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmagic.evaluation.metrics.psnr import psnr
from mmagic.structures import DataSample
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope

from mclnet_plugin.datasets.keypoint_files import write_keypoint_json
from mclnet_plugin.visualization import condition_image, to_uint8
from .inference_inputs import (CONDITION_FILES, FROM_PHOTO, Condition,
                               check_files, condition_image_shape,
                               condition_source, face_part_paths,
                               inference_pipeline, part_mask_prefix)
from .inference_model import build_inference_model
from .pose_estimation import EstimateFn

ImageShape = Tuple[int, int]
# image path → keypoints (N, 17, 2), scores (N, 17) of the N people found
# (COCO-17) and the (h, w) of the image, as ``build_estimate_fn`` makes it
PoseEstimator = EstimateFn


class MCLNetInferencer:
    """Translates a condition (label map, pose, face structure, or the
    photo for the demo's Canny edges) with the style of an exemplar photo.

    The inputs go through the config's test pipeline (``test_dataloader``,
    else ``val_dataloader``), adapted by :func:`inference_pipeline`, so they
    are sized, rendered and normalised as in testing. VGG19 is not built:
    translation does not need its weights file.

    Shaped like MMagic's inferencers (``preprocess`` → ``forward`` →
    ``postprocess``, ``visualize``) without being one: their base class
    takes a list of single inputs, seeds the global RNG and loads
    checkpoints that do not fit with a mere warning.

    Args:
        config: config file or ``Config``.
        checkpoint: a checkpoint of that config (Runner checkpoint or
            ``dict(state_dict=...)``); every weight must fit but the
            discriminator's (see ``build_inference_model``).
        device: e.g. ``'cpu'``, ``'cuda:0'``.
        pose_estimator: for configs that read body keypoints: image path →
            COCO-17 keypoints (N, 17, 2), scores (N, 17) and image (h, w);
            then a photo can stand in for a keypoint file.
        cond_channels: condition channels shown in ``cond_vis`` (see
            ``condition_image``); default: the config's
            ``visualizer.cond_channels``, as in its training grids and test
            outputs (the skeleton (0, 1, 2) of pose maps).
    """

    def __init__(self,
                 config: Union[str, Config],
                 checkpoint: str,
                 device: str = 'cpu',
                 pose_estimator: Optional[PoseEstimator] = None,
                 cond_channels: Optional[Sequence[int]] = None) -> None:
        if isinstance(config, Config):
            self.cfg = copy.deepcopy(config)
            self.config_name = config.filename or '<Config object>'
        else:
            check_files([('config', config)])
            self.cfg = Config.fromfile(config)
            self.config_name = config
        init_default_scope(self.cfg.get('default_scope', 'mmagic'))
        test_pipeline = self._test_pipeline()
        self.condition_kind, self._cond_path_key = condition_source(
            test_pipeline)
        self.pipelines = {
            with_photo: Compose(inference_pipeline(test_pipeline, with_photo))
            for with_photo in (True, False)
            if with_photo or self.condition_kind != FROM_PHOTO
        }
        self.pose_estimator = pose_estimator
        if cond_channels is None:
            cond_channels = (self.cfg.get('visualizer') or {}).get(
                'cond_channels')
        self.cond_channels = cond_channels
        self.model = build_inference_model(self.cfg, checkpoint, device,
                                           self.config_name)

    def _test_pipeline(self) -> list:
        for loader in ('test_dataloader', 'val_dataloader'):
            dataset = (self.cfg.get(loader) or {}).get('dataset') or {}
            if dataset.get('pipeline'):
                return list(dataset['pipeline'])
        raise ValueError(
            f'config {self.config_name} has no test_dataloader (or '
            'val_dataloader) with a dataset pipeline to prepare inputs by')

    def __call__(self,
                 cond: Optional[Condition],
                 exemplar: str,
                 photo: Optional[str] = None,
                 cond_size: Optional[Tuple[int, int]] = None) -> dict:
        """Translates one condition with one exemplar.

        Args:
            cond: the condition file the config's test pipeline reads (see
                ``CONDITION_FILES``; for face parts also a mask file, their
                prefix or a part → file dict); None for configs that compute
                it from ``photo``, or, with a ``pose_estimator``, to
                estimate the pose on ``photo``.
            exemplar: the exemplar image.
            photo: the photo the condition belongs to (optional unless the
                condition is made from it): it sizes the condition, gives
                the Canny edges of the face conditions, and the outputs are
                compared with it (``psnr``).
            cond_size: (h, w) of the image the condition was made on,
                without a photo, for files that do not record it (OpenPose
                files, landmark text files).

        Returns:
            dict: ``fake_img``, ``warped_exemplar``, ``exemplar`` (as the
            model saw it) and ``cond_vis`` (H, W, 3) uint8 RGB; with a
            photo also ``photo`` (resized) and ``psnr`` (``output``,
            ``warped``, dB); and ``data_sample``, the model's DataSample.
        """
        return self.postprocess(
            self.forward(self.preprocess(cond, exemplar, photo, cond_size)))

    def preprocess(self,
                   cond: Optional[Condition],
                   exemplar: str,
                   photo: Optional[str] = None,
                   cond_size: Optional[Tuple[int, int]] = None) -> dict:
        """The inputs as a batch of one for the model's ``test_step``."""
        exemplar = os.fspath(exemplar)
        photo = None if photo is None else os.fspath(photo)
        check_files([('exemplar', exemplar), ('photo', photo)])
        if photo is not None and cond_size is not None:
            raise ValueError('give photo or cond_size, not both: the photo '
                             'sizes the condition')
        source = self._source_name(cond, photo)
        with tempfile.TemporaryDirectory() as scratch:
            cond = self._condition_path(cond, photo, scratch)
            results = dict(
                exemplar_path=exemplar,
                is_pseudo_pair=False,
                query_id=osp.basename(source))
            if cond is not None:
                results[self._cond_path_key] = cond
            if photo is None:
                results.update(self._blank_photo(cond, cond_size))
            else:
                results['gt_path'] = photo
            try:
                packed = self.pipelines[photo is not None](results)
            except (ValueError, KeyError) as error:
                message = error.args[0] if error.args else repr(error)
                raise ValueError(f'{message} (preparing the inputs of '
                                 f'config {self.config_name})') from error
        self._check_condition(packed['inputs']['cond'], source)
        return pseudo_collate([packed])

    def _condition_path(self, cond: Optional[Condition], photo: Optional[str],
                        scratch: str) -> Optional[Condition]:
        """What the pipeline's condition loader reads."""
        kind = self.condition_kind
        if kind == FROM_PHOTO:
            if cond is not None or photo is None:
                raise ValueError(
                    f'config {self.config_name} computes its condition from '
                    'the photo: give the photo (photo=, --photo) and no '
                    'condition')
            return None
        if cond is None:
            if (kind == 'keypoints' and photo is not None
                    and self.pose_estimator is not None):
                return self._estimate_pose(photo, scratch)
            hint = (' (or a photo and a pose estimator)'
                    if kind == 'keypoints' else '')
            raise ValueError(f'config {self.config_name} reads its condition '
                             f'from a {CONDITION_FILES[kind]}: give cond= '
                             f'(--cond){hint}')
        if kind == 'face_parts':
            return face_part_paths(cond)
        cond = os.fspath(cond)
        check_files([('condition', cond)])
        return cond

    def _source_name(self, cond: Optional[Condition],
                     photo: Optional[str]) -> str:
        """A path naming the condition: its file (for face parts their
        prefix), or the photo it is made from."""
        if cond is None:
            return photo
        if self.condition_kind != 'face_parts':
            return os.fspath(cond)
        if isinstance(cond, dict):
            cond = next(iter(cond.values()), '')
        return part_mask_prefix(cond) or cond

    def _estimate_pose(self, photo: str, scratch: str) -> str:
        """Runs the pose estimator on the photo; the highest-scoring person
        as a keypoint JSON in ``scratch``."""
        keypoints, scores, image_shape = self.pose_estimator(photo)
        if len(keypoints) == 0:
            raise ValueError(f'the pose estimator found nobody in {photo}')
        best = int(np.argmax(np.mean(scores, axis=1)))
        path = osp.join(scratch, 'keypoints.json')
        write_keypoint_json(path, keypoints[best], scores[best], image_shape,
                            'coco17')
        return path

    def _blank_photo(self, cond: Condition,
                     cond_size: Optional[Tuple[int, int]]) -> dict:
        """A black stand-in photo of the condition's image size."""
        shape = cond_size or condition_image_shape(self.condition_kind, cond)
        if shape is None:
            raise ValueError(
                f'{cond} does not record the size of its image: give the '
                'photo it was made from (photo=, --photo) or its size '
                '(cond_size=(height, width), --cond-size H W)')
        height, width = (int(size) for size in shape)
        if height <= 0 or width <= 0:
            raise ValueError(f'cond_size must be positive, got {shape}')
        return dict(
            gt=np.zeros((height, width, 3), np.uint8),
            ori_gt_shape=(height, width, 3))

    def _check_condition(self, cond: torch.Tensor, source: str) -> None:
        """The packed condition (C, H, W), or label ids (1, H, W), must fit
        the model's condition encoder."""
        in_channels = (
            self.model.generator.correspondence.cond_encoder.in_channels)
        num_classes = getattr(self.model.data_preprocessor, 'one_hot',
                              {}).get('cond')
        channels = cond.shape[0] if num_classes is None else num_classes
        if num_classes is not None and int(cond.max()) >= num_classes:
            raise ValueError(
                f'condition {source} has class id {int(cond.max())}, but '
                f'config {self.config_name} has {num_classes} classes (ids '
                f'0-{num_classes - 1})')
        if channels != in_channels:
            raise ValueError(
                f'condition {source} has {channels} channels, but the model '
                f'of config {self.config_name} takes {in_channels} '
                '(cond_encoder.in_channels)')

    def forward(self, data: dict) -> DataSample:
        """The model's DataSample for a batch of one."""
        # MMagic's preprocessor warns of each sample without ground truth,
        # which is expected here without a photo.
        logger = MMLogger.get_current_instance()
        no_photo_warning = _DropMessages("Cannot find key 'gt_img'")
        logger.addFilter(no_photo_warning)
        try:
            return self.model.test_step(data)[0]
        finally:
            logger.removeFilter(no_photo_warning)

    def postprocess(self, sample: DataSample) -> dict:
        """Pictures of a DataSample (see ``__call__``)."""
        result = dict(
            fake_img=to_uint8(sample.fake_img),
            warped_exemplar=to_uint8(sample.warped_exemplar),
            exemplar=to_uint8(sample.exemplar),
            cond_vis=condition_image(sample.cond, self.cond_channels),
            data_sample=sample)
        if 'gt_img' in sample:
            result['photo'] = to_uint8(sample.gt_img)
            result['psnr'] = dict(
                output=psnr(result['fake_img'], result['photo']),
                warped=psnr(result['warped_exemplar'], result['photo']))
        return result

    @staticmethod
    def visualize(result: dict) -> np.ndarray:
        """The row condition | exemplar | warped exemplar | output [| photo]
        of a result, (H, 4 or 5 × W, 3) uint8 RGB."""
        keys = ('cond_vis', 'exemplar', 'warped_exemplar', 'fake_img', 'photo')
        return np.concatenate([result[key] for key in keys if key in result],
                              axis=1)


class _DropMessages(logging.Filter):
    """Drops log records whose message contains ``text``."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        return self.text not in record.getMessage()
