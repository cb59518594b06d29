import numpy as np
import pytest
import torch

from mclnet_plugin.visualization import condition_image, to_uint8


def test_condition_pictures():
    edges = torch.zeros(1, 2, 3)
    edges[0, 1, 2] = 1
    grey = condition_image(edges)
    assert grey.shape == (2, 3, 3) and grey[1, 2].tolist() == [255] * 3
    assert grey[0, 0].tolist() == [0, 0, 0]

    labels = torch.tensor([[0, 2], [2, 1]])
    one_hot = torch.nn.functional.one_hot(labels, 5).permute(2, 0, 1)
    picture = condition_image(one_hot.float())
    # one colour per class
    assert (picture[0, 1] == picture[1, 0]).all()
    assert not (picture[0, 0] == picture[0, 1]).all()

    pose = torch.rand(20, 4, 4)
    np.testing.assert_array_equal(
        condition_image(pose, (0, 1, 2)), to_uint8(pose[:3] * 255))
    # another multi-channel map: its first channel, as grey
    np.testing.assert_array_equal(
        condition_image(pose)[..., 1], to_uint8(pose[:1] * 255)[..., 0])
    with pytest.raises(ValueError, match='1 or 3 condition channels'):
        condition_image(pose, (0, 1))
