"""Which retrieved reference serves as the exemplar of a training pair."""
import numpy as np
from mmagic.registry import TRANSFORMS
from mmcv.transforms import BaseTransform


@TRANSFORMS.register_module()
class ChooseExemplar(BaseTransform):
    """Sets ``results['exemplar_path']`` from ``results['exemplar_paths']``
    (the retrieved references, most similar first): the last ("hard") one
    with probability ``hard_prob``, else the first ("easy") one, as
    CoCosNet trains; ``hard_prob=0`` always takes the first (testing).

    With ``self_reference=True`` the references are views of the ground
    truth's own subject (DeepFashion: the same person in the same outfit),
    so the ground truth is what the warped exemplar should become: the
    sample is flagged ``is_pseudo_pair`` and gets the losses of pseudo pairs
    (Eq. 5, VGG feature matching), as CoCosNet flags its DeepFashion pairs
    self-reference.
    """

    def __init__(self, hard_prob: float = 0.2,
                 self_reference: bool = False) -> None:
        if not 0 <= hard_prob <= 1:
            raise ValueError(f'ChooseExemplar: hard_prob must be in [0, 1],'
                             f' got {hard_prob}')
        self.hard_prob = hard_prob
        self.self_reference = self_reference

    def transform(self, results: dict) -> dict:
        paths = results.get('exemplar_paths')
        if not paths:
            raise KeyError(
                'ChooseExemplar: the sample '
                f'{results.get("gt_path", "")} has no exemplar_paths (use a '
                'dataset that pairs samples with an exemplar list)')
        hard = self.hard_prob > 0 and np.random.rand() < self.hard_prob
        results['exemplar_path'] = paths[-1] if hard else paths[0]
        if self.self_reference:
            results['is_pseudo_pair'] = True
        return results
