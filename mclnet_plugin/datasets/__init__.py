from .ade20k import ADE20KDataset
from .bundled_photos import (DEMO_HELD_OUT_PHOTOS, DEMO_TRAIN_PHOTOS,
                             BundledPhotoDataset, bundled_photo_folder)
from .celebahq import CelebAHQEdgeDataset
from .deepfashion import DeepFashionPoseDataset
from .exemplar_list import read_exemplar_list, write_exemplar_list
from .exemplar_pair_dataset import ExemplarPairDataset
from .transforms import (AlignedRandomCrop, CannyEdges, ChooseExemplar,
                         FlipWithPoints, LoadCheckedImage, LoadFaceLandmarks,
                         LoadFaceParts, LoadLabelMap, LoadPoseKeypoints,
                         PseudoExemplar, RenderFaceEdges, RenderPoseMap)

__all__ = [
    'ADE20KDataset', 'AlignedRandomCrop', 'BundledPhotoDataset',
    'CannyEdges', 'CelebAHQEdgeDataset', 'ChooseExemplar',
    'DEMO_HELD_OUT_PHOTOS', 'DEMO_TRAIN_PHOTOS', 'DeepFashionPoseDataset',
    'ExemplarPairDataset', 'FlipWithPoints', 'LoadCheckedImage',
    'LoadFaceLandmarks', 'LoadFaceParts', 'LoadLabelMap',
    'LoadPoseKeypoints', 'PseudoExemplar', 'RenderFaceEdges',
    'RenderPoseMap', 'bundled_photo_folder', 'read_exemplar_list',
    'write_exemplar_list'
]
