from .aligned_random_crop import AlignedRandomCrop
from .choose_exemplar import ChooseExemplar
from .edge_condition import CannyEdges
from .face_edge_map import LoadFaceLandmarks, LoadFaceParts, RenderFaceEdges
from .flip_with_points import FlipWithPoints
from .label_map import LoadLabelMap
from .load_checked_image import LoadCheckedImage
from .pose_map import LoadPoseKeypoints, RenderPoseMap
from .pseudo_exemplar import PseudoExemplar

__all__ = [
    'AlignedRandomCrop', 'CannyEdges', 'ChooseExemplar', 'FlipWithPoints',
    'LoadCheckedImage', 'LoadFaceLandmarks', 'LoadFaceParts',
    'LoadLabelMap', 'LoadPoseKeypoints', 'PseudoExemplar',
    'RenderFaceEdges', 'RenderPoseMap'
]
