import io
import os

import cv2
import numpy as np
import pytest
from mmagic.datasets.transforms import LoadImageFromFile
from PIL import Image

from mclnet_plugin.datasets import CannyEdges, LoadCheckedImage, PseudoExemplar
from mclnet_plugin.datasets.checked_decoding import (captured_stderr,
                                                     jpeg_end_missing)
from tests.dataset_fixtures import photo


def square_image():
    image = np.zeros((32, 32, 3), np.uint8)
    image[8:24, 8:24] = (200, 120, 40)
    return image


def test_canny_edges_trace_the_square_border():
    results = CannyEdges(key='gt', out_key='cond')(dict(gt=square_image()))
    edges = results['cond']
    assert edges.shape == (32, 32, 1) and edges.dtype == np.float32
    rows, cols = np.nonzero(edges[..., 0])
    # every edge pixel lies within one pixel of the square's outline
    near_outline = (np.minimum(np.abs(rows - 8), np.abs(rows - 23)) <= 1) | (
        np.minimum(np.abs(cols - 8), np.abs(cols - 23)) <= 1)
    assert len(rows) > 40 and near_outline.all()
    assert edges[16, 16, 0] == 0 and edges[2, 2, 0] == 0
    grey = cv2.cvtColor(square_image(), cv2.COLOR_RGB2GRAY)
    expected = cv2.Canny(cv2.GaussianBlur(grey, (3, 3), 0), 60, 140) > 0
    np.testing.assert_array_equal(edges[..., 0] > 0, expected)


def test_canny_edges_rejects_float_images():
    with pytest.raises(ValueError, match='must be uint8'):
        CannyEdges()(dict(gt=np.zeros((4, 4, 3), np.float32)))


def test_pseudo_exemplar_without_augmentation_is_the_ground_truth():
    transform = PseudoExemplar(
        degrees=0, scale=(1, 1), translate=0, brightness=0, contrast=0, hue=0)
    results = transform(dict(gt=square_image()))
    assert results['is_pseudo_pair'] is True
    # only the RGB -> HSV -> RGB round trip may move a colour by a level
    assert np.abs(results['exemplar'].astype(int) -
                  square_image().astype(int)).max() <= 2


def test_pseudo_exemplar_moves_and_recolours():
    np.random.seed(0)
    results = PseudoExemplar(degrees=0, scale=(1, 1), translate=0.2,
                             brightness=0, contrast=0, hue=0)(
                                 dict(gt=square_image()))
    moved = results['exemplar']
    assert not np.array_equal(moved, square_image())
    np.random.seed(0)
    dim = square_image() // 2  # no clipping at 255 after brightening
    recoloured = PseudoExemplar(degrees=0, scale=(1, 1), translate=0,
                                brightness=0.5, contrast=0, hue=0)(
                                    dict(gt=dim))['exemplar']
    # a pure brightness factor: every channel scaled alike
    ratio = recoloured[16, 16].astype(float) / dim[16, 16]
    assert np.allclose(ratio, ratio[0], atol=0.05) and abs(ratio[0] - 1) > 0.01


def test_pseudo_exemplar_records_the_affine_it_applied():
    np.random.seed(3)
    gt = photo(1, size=(48, 40))
    results = PseudoExemplar(brightness=0, contrast=0, hue=0)(dict(gt=gt))
    matrix = results['exemplar_affine']
    assert matrix.shape == (2, 3) and matrix.dtype == np.float32
    # the recorded matrix reproduces the exemplar (HSV round trip aside)
    expected = cv2.warpAffine(gt, matrix.astype(np.float64), (40, 48),
                              borderMode=cv2.BORDER_REFLECT)
    assert np.abs(results['exemplar'].astype(int) -
                  expected.astype(int)).max() <= 2
    # and it is a random one: rotated, scaled or shifted
    assert not np.allclose(matrix, [[1, 0, 0], [0, 1, 0]], atol=1e-3)


def test_pseudo_exemplar_prob_zero_keeps_the_retrieved_exemplar():
    retrieved = np.full((32, 32, 3), 7, np.uint8)
    results = PseudoExemplar(prob=0.0)(
        dict(gt=square_image(), exemplar=retrieved))
    assert results['is_pseudo_pair'] is False
    assert results['exemplar'] is retrieved
    with pytest.raises(KeyError, match="no 'exemplar'"):
        PseudoExemplar(prob=0.0)(dict(gt=square_image()))
    with pytest.raises(ValueError, match='prob'):
        PseudoExemplar(prob=1.5)


def pil_bytes(image, **save_args):
    buffer = io.BytesIO()
    image.save(buffer, **save_args)
    return buffer.getvalue()


def cv2_bytes(image, ext='.jpg', *params):
    return cv2.imencode(ext, image, list(params))[1].tobytes()


def valid_image_files():
    """Name → bytes of images from several encoders and of several kinds."""
    rgb = photo(1)
    pil = Image.fromarray(rgb)
    jpeg = pil_bytes(pil, format='JPEG')
    thumbnail = pil_bytes(pil.resize((16, 12)), format='JPEG')
    exif = b'\xff\xe1' + (len(thumbnail) + 8).to_bytes(2, 'big') + \
        b'Exif\0\0' + thumbnail
    return {
        'cv2_q30.jpg': cv2_bytes(rgb, '.jpg', cv2.IMWRITE_JPEG_QUALITY, 30),
        'cv2_q100.jpg': cv2_bytes(rgb, '.jpg', cv2.IMWRITE_JPEG_QUALITY, 100),
        'cv2_restarts.jpg': cv2_bytes(rgb, '.jpg',
                                      cv2.IMWRITE_JPEG_RST_INTERVAL, 2),
        'pil_q75.jpg': jpeg,
        'pil_444.jpg': pil_bytes(pil, format='JPEG', subsampling=0),
        'progressive.jpg': pil_bytes(pil, format='JPEG', progressive=True),
        'grey.jpg': pil_bytes(pil.convert('L'), format='JPEG'),
        'cmyk.jpg': pil_bytes(pil.convert('CMYK'), format='JPEG'),
        # an EXIF thumbnail (with its own end marker) before the scan, and
        # data after the end marker (phones append some)
        'thumbnail_trailer.jpg': jpeg[:2] + exif + jpeg[2:] + b'tail' * 9,
        'rgb8.png': cv2_bytes(rgb, '.png'),
        'rgb16.png': cv2_bytes(rgb.astype(np.uint16) * 257, '.png'),
        'rgba.png': pil_bytes(Image.fromarray(np.dstack([rgb, rgb[..., :1]])),
                              format='PNG'),
        'palette.png': pil_bytes(pil.convert('P'), format='PNG'),
    }


@pytest.mark.parametrize('color_type', ['color', 'unchanged', 'grayscale'])
def test_load_checked_image_loads_valid_files_as_mmagic_does(
        tmp_path, color_type):
    for name, data in valid_image_files().items():
        path = tmp_path / name
        path.write_bytes(data)
        results = dict(gt_path=str(path))
        expected = LoadImageFromFile(
            key='gt', color_type=color_type,
            channel_order='rgb')(dict(results))
        loaded = LoadCheckedImage(
            key='gt', color_type=color_type,
            channel_order='rgb')(dict(results))
        assert loaded['gt'].dtype == expected['gt'].dtype, name
        np.testing.assert_array_equal(loaded['gt'], expected['gt'], name)
        assert loaded['ori_gt_shape'] == expected['ori_gt_shape']


def damaged_files():
    """Name → (bytes, what the error says) of damaged JPEGs and PNGs."""
    jpeg = cv2_bytes(photo(0), '.jpg', cv2.IMWRITE_JPEG_QUALITY, 95)
    middle = (jpeg.find(b'\xff\xda') + len(jpeg)) // 2  # of the scan
    garbled = bytearray(jpeg)
    garbled[middle:middle + 32] = np.random.default_rng(0).integers(
        0, 256, 32, dtype=np.uint8).tobytes()
    png = cv2_bytes(photo(0), '.png')
    return {
        'half.jpg': (jpeg[:len(jpeg) // 2], 'is truncated'),
        'no_end_marker.jpg': (jpeg[:-2], 'is truncated'),
        'zero_tail.jpg': (jpeg[:middle] + bytes(len(jpeg) - middle),
                          'is truncated'),
        'half_then_end_marker.jpg':
        (jpeg[:middle] + b'\xff\xd9',
         'is damaged: libjpeg reports "Corrupt JPEG data: premature end'),
        'garbled.jpg': (bytes(garbled), 'is damaged: libjpeg reports '
                        '"Corrupt JPEG data: bad Huffman code"'),
        'half.png': (png[:len(png) // 2], 'is not a readable image'),
        'garbled.png': (png[:len(png) // 2] + bytes(64) +
                        png[len(png) // 2 + 64:], 'is not a readable image'),
        'empty.jpg': (b'', 'is not a readable image'),
    }


@pytest.mark.parametrize('name', sorted(damaged_files()))
def test_load_checked_image_rejects_damaged_files(tmp_path, capfd, name):
    data, message = damaged_files()[name]
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ValueError) as raised:
        LoadCheckedImage(key='exemplar')(dict(exemplar_path=str(path)))
    assert str(raised.value).startswith(f'image {path} (exemplar) {message}')
    # the error replaces libjpeg's line on stderr
    assert 'Corrupt JPEG' not in capfd.readouterr().err


def test_load_checked_image_with_the_pillow_backend(tmp_path):
    data, _ = damaged_files()['half.png']
    path = tmp_path / 'half.png'
    path.write_bytes(data)
    with pytest.raises(ValueError, match=f'image {path} \\(gt\\) is not a '
                       'readable image: image file is truncated'):
        LoadCheckedImage(key='gt', imdecode_backend='pillow')(
            dict(gt_path=str(path)))


def test_load_checked_image_missing_file(tmp_path):
    path = tmp_path / 'absent.jpg'
    with pytest.raises(FileNotFoundError, match=f'image {path} \\(gt\\) not'):
        LoadCheckedImage(key='gt')(dict(gt_path=str(path)))


def test_jpeg_end_missing():
    jpeg = cv2_bytes(photo(0))
    assert not jpeg_end_missing(jpeg)
    assert jpeg_end_missing(jpeg[:-2]) and jpeg_end_missing(jpeg[:100])
    assert not jpeg_end_missing(b'\x89PNG\r\n') and not jpeg_end_missing(b'')


def test_captured_stderr_collects_fd_2_and_restores_it(capfd):
    with captured_stderr() as lines:
        os.write(2, b'from C\nsecond line\n')
    os.write(2, b'after\n')
    assert lines == ['from C', 'second line']
    assert capfd.readouterr().err == 'after\n'
