"""tools/dataset_converters/deepfashion/prepare_deepfashion.py."""
import pytest

from mclnet_plugin.datasets import DeepFashionPoseDataset, read_exemplar_list
from tests.dataset_fixtures import make_deepfashion
from tests.tool_modules import load_tool


def test_splits_and_lists_from_the_partition_file(tmp_path, capsys):
    tool = load_tool('dataset_converters/deepfashion/prepare_deepfashion.py')
    train = make_deepfashion(str(tmp_path))
    val = (tmp_path / 'val.txt').read_text().split()
    for name in ('train.txt', 'val.txt', 'train_ref.txt', 'val_ref.txt'):
        (tmp_path / name).unlink()
    rows = [f'{n} {n.split("/")[3]} train' for n in train]
    rows += [f'{val[0]} id_00000003 query', f'{val[1]} id_00000003 gallery',
             'img/MEN/Tees/id_00000009/01_1_front.jpg id_00000009 gallery']
    (tmp_path / 'Eval').mkdir()
    (tmp_path / 'Eval' / 'list_eval_partition.txt').write_text(
        f'{len(rows)}\nimage_name item_id evaluation_status\n' +
        '\n'.join(rows) + '\n')
    tool.main([str(tmp_path)])
    assert 'val: 2 photos (1 listed but missing)' in capsys.readouterr().out
    assert (tmp_path / 'train.txt').read_text().split() == train
    assert (tmp_path / 'val.txt').read_text().split() == val
    assert read_exemplar_list(str(tmp_path / 'val_ref.txt')) == {
        val[0]: [val[1]], val[1]: [val[0]]}
    dataset = DeepFashionPoseDataset(
        str(tmp_path), split='val', exemplar_list='val_ref.txt',
        test_mode=True)
    assert len(dataset) == 2

    (tmp_path / 'Eval' / 'list_eval_partition.txt').write_text(
        '1\nheader\nimg/a.jpg id_1 unknown\n')
    with pytest.raises(ValueError, match='list_eval_partition.txt, line 3'):
        tool.main([str(tmp_path)])
    with pytest.raises(FileNotFoundError, match='comes with DeepFashion'):
        tool.main([str(tmp_path), '--partition', 'nope.txt'])
