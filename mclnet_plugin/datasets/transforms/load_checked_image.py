"""MMagic's image loading, with errors that name the file."""
import cv2
import numpy as np
from mmagic.datasets.transforms import LoadImageFromFile
from mmagic.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadCheckedImage(LoadImageFromFile):
    """``LoadImageFromFile`` (same arguments) that raises one clear error
    naming the file when it is missing or not a decodable image (MMagic's
    fails later with ``'NoneType' object has no attribute ...``)."""

    def _load_image(self, filename: str) -> np.ndarray:
        try:
            image = super()._load_image(filename)
        except FileNotFoundError:
            raise FileNotFoundError(
                f'image {filename} ({self.key}) not found') from None
        except cv2.error:  # colour conversion of an undecodable file
            image = None
        if image is None:
            raise ValueError(f'image {filename} ({self.key}) is not a '
                             'readable image (empty or corrupt file?)')
        return image
