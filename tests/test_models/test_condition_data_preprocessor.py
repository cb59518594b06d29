import pytest
import torch
from mmagic.structures import DataSample

from mclnet_plugin.models import ConditionDataPreprocessor
from mclnet_plugin.models.condition_data_preprocessor import one_hot_labels


def test_one_hot_labels_against_a_loop():
    labels = torch.randint(0, 5, (2, 1, 3, 4), dtype=torch.uint8)
    one_hot = one_hot_labels(labels, 5)
    assert one_hot.shape == (2, 5, 3, 4) and one_hot.dtype == torch.float32
    for b in range(2):
        for y in range(3):
            for x in range(4):
                expected = torch.zeros(5)
                expected[int(labels[b, 0, y, x])] = 1
                assert torch.equal(one_hot[b, :, y, x], expected)


def test_bad_label_batches_raise():
    with pytest.raises(ValueError, match=r"inputs\['cond'\] has class ids "
                       r'in \[0, 7\], outside \[0, 4\]'):
        one_hot_labels(torch.tensor([[[[0, 7]]]]), 5, 'cond')
    with pytest.raises(TypeError, match='integer class ids'):
        one_hot_labels(torch.zeros(1, 1, 2, 2), 5)
    with pytest.raises(ValueError, match=r'\(B, 1, H, W\)'):
        one_hot_labels(torch.zeros(1, 3, 2, 2, dtype=torch.long), 5)


def test_preprocessor_one_hots_the_condition_and_normalises_images():
    preprocessor = ConditionDataPreprocessor(one_hot=dict(cond=4))
    labels = [torch.tensor([[[0, 3], [2, 1]]], dtype=torch.uint8)] * 2
    exemplar = [torch.full((3, 2, 2), 255, dtype=torch.uint8)] * 2
    data = preprocessor(
        dict(
            inputs=dict(cond=labels, exemplar=exemplar),
            data_samples=[DataSample(), DataSample()]),
        training=True)
    assert torch.equal(data['inputs']['cond'][1].argmax(0),
                       labels[1][0].long())
    # images still normalised to [-1, 1]
    assert torch.allclose(data['inputs']['exemplar'], torch.ones(2, 3, 2, 2))
