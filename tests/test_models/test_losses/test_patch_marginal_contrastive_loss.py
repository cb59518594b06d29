import pytest
import torch
import torch.nn as nn
from mmagic.registry import MODELS

from mclnet_plugin.models.losses import (MarginalContrastiveLoss,
                                         PatchMarginalContrastiveLoss,
                                         layer_features)


class TinyNet(nn.Module):

    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(),
            nn.Conv2d(4, 6, 3, stride=2, padding=1))
        self.decoder = nn.Conv2d(6, 3, 1)
        self.decoder_calls = 0

    def forward(self, img):
        feat = self.encoder(img)
        self.decoder_calls += 1
        return self.decoder(feat)


def test_equals_the_tensor_loss_on_hooked_features():
    net, source, target = TinyNet(), torch.randn(2, 3, 8, 8), torch.randn(
        2, 3, 8, 8)
    loss = PatchMarginalContrastiveLoss(
        layers=['encoder.0', 'encoder.2'], layer_weights=[1.0, 0.5],
        num_patches=64, head_channels=None, loss_weight=2.0)
    mcl = MarginalContrastiveLoss(bidirectional=False)
    expected = 2.0 * (mcl(net.encoder[0](target), net.encoder[0](source)) +
                      0.5 * mcl(net.encoder(target), net.encoder(source)))
    torch.testing.assert_close(loss(net, source, target), expected)


def test_forward_stops_after_the_last_layer():
    net = TinyNet()
    feats = layer_features(net, torch.randn(1, 3, 8, 8), ['encoder.2'])
    assert feats[0].shape == (1, 6, 4, 4)
    assert net.decoder_calls == 0


def test_heads_get_gradients_and_source_is_detached():
    net = TinyNet()
    loss = MODELS.build(
        dict(type='PatchMarginalContrastiveLoss', layers=['encoder.2'],
             layer_channels=[6], head_channels=8, num_patches=5,
             data_info=dict(net='gen', source_img='real', target_img='fake')))
    source = torch.randn(2, 3, 8, 8, requires_grad=True)
    target = torch.randn(2, 3, 8, 8, requires_grad=True)
    loss(dict(gen=net, real=source, fake=target)).backward()
    assert loss.heads[0][0].weight.grad.abs().sum() > 0
    assert net.encoder[0].weight.grad.abs().sum() > 0
    assert target.grad.abs().sum() > 0
    assert source.grad is None


def test_unknown_layer_lists_close_names():
    loss = PatchMarginalContrastiveLoss(layers=['encoder.3'],
                                        head_channels=None)
    with pytest.raises(KeyError, match=r"'encoder\.3'.*'encoder\.2'"):
        loss(TinyNet(), torch.randn(1, 3, 8, 8), torch.randn(1, 3, 8, 8))


def test_wrong_layer_channels_are_named():
    loss = PatchMarginalContrastiveLoss(layers=['encoder.2'],
                                        layer_channels=[4], head_channels=8)
    with pytest.raises(ValueError, match=r"'encoder\.2' has 6 channels"):
        loss(TinyNet(), torch.randn(1, 3, 8, 8), torch.randn(1, 3, 8, 8))


def test_missing_outputs_key_is_named():
    loss = PatchMarginalContrastiveLoss(
        layers=['encoder.2'], head_channels=None,
        data_info=dict(net='gen', source_img='real_a', target_img='fake_b'))
    with pytest.raises(KeyError, match=r"no \['real_a'\]"):
        loss(dict(gen=TinyNet(), fake_b=torch.randn(1, 3, 8, 8)))


@pytest.mark.parametrize('kwargs,match', [
    (dict(layers=[]), 'layers is empty'),
    (dict(layers=['a'], layer_weights=[1, 2]), 'one value per layer'),
    (dict(layers=['a']), 'head_channels needs layer_channels'),
    (dict(layers=['a'], head_channels=None, num_patches=0), 'num_patches'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PatchMarginalContrastiveLoss(**kwargs)
