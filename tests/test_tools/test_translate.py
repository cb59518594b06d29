"""tools/translate.py end to end on tiny models."""
import os
import re

import cv2
import pytest

from tests.dataset_fixtures import make_ade20k, make_celebahq, photo, save_rgb
from tests.test_apis import save_checkpoint, tiny_config
from tests.tiny_configs import SIZE
from tests.tool_modules import load_tool


@pytest.fixture(scope='module')
def tool():
    return load_tool('translate.py')


@pytest.fixture(scope='module')
def work(tmp_path_factory):
    return tmp_path_factory.mktemp('translate')


def model_files(work, name):
    """[config file, checkpoint] of a tiny config."""
    cfg = tiny_config(name, work / 'work_dir')
    config = str(work / f'{name}.py')
    cfg.dump(config)
    return [config, save_checkpoint(cfg, work / f'{name}.pth')]


@pytest.fixture(scope='module')
def demo(work):
    """Model files, two photos and two exemplars."""
    for i in range(2):
        save_rgb(str(work / 'photos' / f'photo{i}.jpg'), photo(i))
        save_rgb(
            str(work / 'exemplars' / f'style{i}.png'), photo(3 + i, (40, 80)))
    return model_files(work, 'demo')


@pytest.fixture(scope='module')
def ade(work):
    root = work / 'ade'
    make_ade20k(str(root))
    return model_files(work, 'ade20k'), root


def read(path):
    image = cv2.imread(str(path))
    assert image is not None, path
    return image


def test_one_photo_and_exemplar_with_grid(tool, demo, work, capsys):
    out = work / 'out_single'
    tool.main([
        *demo, '--photo',
        str(work / 'photos' / 'photo0.jpg'), '--exemplar',
        str(work / 'exemplars' / 'style1.png'), '--out',
        str(out), '--grid'
    ])
    assert sorted(os.listdir(out)) == [
        'photo0_style1_grid.png', 'photo0_style1_output.png',
        'photo0_style1_warped.png'
    ]
    assert read(out / 'photo0_style1_output.png').shape == (SIZE, SIZE, 3)
    assert read(out / 'photo0_style1_warped.png').shape == (SIZE, SIZE, 3)
    # condition | exemplar | warped | output | photo
    assert read(out / 'photo0_style1_grid.png').shape == (SIZE, 5 * SIZE, 3)
    printed = capsys.readouterr().out
    assert f'wrote {out / "photo0_style1_output.png"}' in printed
    assert 'PSNR vs photo' in printed and '1 translation(s)' in printed


def test_folders_are_paired_by_sorted_names(tool, demo, work):
    out = work / 'out_folders'
    tool.main([
        *demo, '--photo',
        str(work / 'photos'), '--exemplar',
        str(work / 'exemplars'), '--out',
        str(out)
    ])
    assert sorted(os.listdir(out)) == [
        'photo0_style0_output.png', 'photo0_style0_warped.png',
        'photo1_style1_output.png', 'photo1_style1_warped.png'
    ]


def test_one_exemplar_styles_every_condition(tool, ade, work):
    (config, checkpoint), root = ade
    out = work / 'out_broadcast'
    tool.main([
        config, checkpoint, '--cond',
        str(root / 'annotations' / 'validation'), '--exemplar',
        str(root / 'images' / 'training' / 'ADE_train_00000002.jpg'), '--out',
        str(out), '--grid'
    ])
    grids = sorted(name for name in os.listdir(out) if 'grid' in name)
    assert grids == [
        'ADE_val_00000001_ADE_train_00000002_grid.png',
        'ADE_val_00000002_ADE_train_00000002_grid.png'
    ]
    # no photo: condition | exemplar | warped | output
    assert read(out / grids[0]).shape == (SIZE, 4 * SIZE, 3)


def test_pairs_file_and_photos_matched_by_stem(tool, ade, work, capsys):
    (config, checkpoint), root = ade
    pairs = work / 'pairs.txt'
    pairs.write_text('# condition,exemplar\n'
                     'ADE_val_00000002.png, ADE_train_00000001.jpg\n\n'
                     'ADE_val_00000002.png,ADE_train_00000003.jpg\n')
    out = work / 'out_pairs'
    tool.main([
        config, checkpoint, '--cond',
        str(root / 'annotations' / 'validation'), '--exemplar',
        str(root / 'images' / 'training'), '--photo',
        str(root / 'images' / 'validation'), '--pairs',
        str(pairs), '--out',
        str(out), '--grid'
    ])
    assert sorted(name for name in os.listdir(out) if 'grid' in name) == [
        'ADE_val_00000002_ADE_train_00000001_grid.png',
        'ADE_val_00000002_ADE_train_00000003_grid.png'
    ]
    assert read(
        out /
        'ADE_val_00000002_ADE_train_00000001_grid.png').shape == (SIZE,
                                                                  5 * SIZE, 3)
    assert capsys.readouterr().out.count('PSNR vs photo') == 2


def test_folder_of_face_part_masks(tool, work):
    root = work / 'celebahq'
    root.mkdir()
    make_celebahq(str(root), num_train=2, num_val=0)
    out = work / 'out_parts'
    tool.main([
        *model_files(work, 'celebahq_parts'), '--cond',
        str(root / 'CelebAMask-HQ-mask-anno' / '0'), '--exemplar',
        str(root / 'CelebA-HQ-img' / '0.jpg'), '--out',
        str(out)
    ])
    assert sorted(name for name in os.listdir(out) if 'output' in name) == [
        f'0000{i}_0_output.png' for i in range(2)
    ]


def error_of(tool, argv):
    with pytest.raises(SystemExit) as raised:
        tool.main(argv)
    return raised.value.code


def test_bad_input_exits_with_a_one_line_error(tool, demo, ade, work):
    (config, checkpoint), root = ade
    out = str(work / 'out_errors')
    labels = str(root / 'annotations' / 'validation')
    exemplars = str(root / 'images' / 'training')
    empty = str(work / 'empty')
    os.makedirs(empty)
    cases = {
        'condition file nope.png not found': [
            config, checkpoint, '--cond', 'nope.png', '--exemplar',
            exemplars + '/ADE_train_00000001.jpg'
        ],
        'checkpoint file nope.pth not found':
        [config, 'nope.pth', '--cond', labels, '--exemplar', exemplars],
        # 2 label maps, 4 training photos
        '2 sources in .* but 4 exemplars in':
        [config, checkpoint, '--cond', labels, '--exemplar', exemplars],
        'computes its condition from the photo': [
            *demo, '--cond', labels + '/ADE_val_00000001.png', '--photo',
            str(work / 'photos' / 'photo0.jpg'), '--exemplar',
            str(work / 'exemplars' / 'style0.png')
        ],
        'no photo ADE_val_00000001.* in': [
            config, checkpoint, '--cond', labels, '--exemplar',
            exemplars + '/ADE_train_00000001.jpg', '--photo',
            str(work / 'photos')
        ],
        'no image files in .*empty':
        [config, checkpoint, '--cond', labels, '--exemplar', empty],
    }
    for message, argv in cases.items():
        code = error_of(tool, argv + ['--out', out])
        assert code.startswith('translate.py: error: ') and '\n' not in code
        assert re.search(message, code), (message, code)
    bad_pairs = work / 'bad_pairs.txt'
    bad_pairs.write_text('ADE_val_00000001.png\n')
    code = error_of(tool, [
        config, checkpoint, '--cond', labels, '--exemplar', exemplars,
        '--pairs',
        str(bad_pairs), '--out', out
    ])
    assert 'bad_pairs.txt, line 1: expected "source,exemplar"' in code


def test_a_damaged_exemplar_jpeg_exits_with_an_error(tool, ade, work):
    (config, checkpoint), root = ade
    photo_path = root / 'images' / 'training' / 'ADE_train_00000001.jpg'
    jpeg = photo_path.read_bytes()
    damaged = work / 'damaged' / 'style.jpg'
    damaged.parent.mkdir()
    # bytes garbled in the middle of the scan: OpenCV decodes it with grey
    # and noise, libjpeg complains on stderr only
    middle = (jpeg.find(b'\xff\xda') + len(jpeg)) // 2
    damaged.write_bytes(jpeg[:middle] + bytes(range(0, 256, 8)) +
                        jpeg[middle + 32:])
    out = work / 'out_damaged'
    code = error_of(tool, [
        config, checkpoint, '--cond',
        str(root / 'annotations' / 'validation' / 'ADE_val_00000001.png'),
        '--exemplar',
        str(damaged), '--out',
        str(out)
    ])
    assert code.startswith(f'translate.py: error: image {damaged} '
                           '(exemplar) is damaged: libjpeg reports "Corrupt '
                           'JPEG data')
    assert not out.exists() or not os.listdir(out)


def test_missing_arguments_are_usage_errors(tool, demo, work, capsys):
    for argv, message in (
        ([*demo, '--exemplar', 'e.jpg', '--out', 'o'], 'give --cond'),
        ([
            *demo, '--photo', 'p.jpg', '--exemplar', 'e.jpg', '--out', 'o',
            '--pose-config', 'p.py'
        ], 'go together'),
    ):
        assert error_of(tool, argv) == 2
        assert message in capsys.readouterr().err
