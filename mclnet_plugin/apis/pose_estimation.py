"""Body keypoints of a photo with an MMPose model from local files (the
DeepFashion keypoint extractor and pose conditions from raw photos)."""
from typing import Callable, Tuple

import numpy as np

# image path -> keypoints (N, 17, 2), scores (N, 17) of the N people found
# and the (h, w) of the image their coordinates are in
EstimateFn = Callable[[str], Tuple[np.ndarray, np.ndarray, Tuple[int, int]]]


def build_estimate_fn(config: str,
                      checkpoint: str,
                      device: str = 'cpu') -> EstimateFn:
    """The MMPose top-down model of ``config`` and ``checkpoint``, run on
    whole images."""
    try:
        from mmpose.apis import inference_topdown, init_model
    except ImportError as error:
        raise ImportError(
            'running an MMPose model needs mmpose.models, which imports '
            'MMDetection: install mmdet (and the compiled mmcv it needs) '
            f'next to mmpose ({error})') from error
    model = init_model(config, checkpoint, device=device)
    if model.dataset_meta.get('num_keypoints') != 17:
        raise ValueError(
            f'{config}: expected a COCO-17 body model, got '
            f'{model.dataset_meta.get("num_keypoints")} keypoints '
            f'({model.dataset_meta.get("dataset_name")})')

    def estimate(image_path: str):
        # no boxes: the whole photo is the person's box
        samples = inference_topdown(model, image_path)
        keypoints = np.concatenate(
            [sample.pred_instances.keypoints for sample in samples])
        scores = np.concatenate(
            [sample.pred_instances.keypoint_scores for sample in samples])
        return keypoints, scores, samples[0].metainfo['ori_shape'][:2]

    return estimate
