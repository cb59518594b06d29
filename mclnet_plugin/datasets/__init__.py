from .bundled_photos import (DEMO_HELD_OUT_PHOTOS, DEMO_TRAIN_PHOTOS,
                             BundledPhotoDataset, bundled_photo_folder)
from .transforms import CannyEdges, PseudoExemplar

__all__ = [
    'BundledPhotoDataset', 'CannyEdges', 'DEMO_HELD_OUT_PHOTOS',
    'DEMO_TRAIN_PHOTOS', 'PseudoExemplar', 'bundled_photo_folder'
]
