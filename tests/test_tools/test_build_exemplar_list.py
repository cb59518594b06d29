"""tools/dataset_converters/build_exemplar_list.py on tiny datasets."""
import numpy as np
import pytest

from mclnet_plugin.datasets import ADE20KDataset, read_exemplar_list
from mclnet_plugin.datasets.exemplar_retrieval import label_histogram
from tests.dataset_fixtures import make_ade20k, make_celebahq
from tests.tool_modules import load_tool


@pytest.fixture(scope='module')
def tool():
    return load_tool('dataset_converters/build_exemplar_list.py')


def test_ade20k_training_and_test_lists(tmp_path, tool, capsys):
    train = make_ade20k(str(tmp_path), 'cocosnet', num_train=6)
    out = tmp_path / 'built_ref.txt'
    tool.main(['ade20k', str(tmp_path), '--split', 'training', '--out',
               str(out), '--top-k', '3'])
    assert 'wrote 6 queries' in capsys.readouterr().out
    exemplars = read_exemplar_list(str(out))
    assert list(exemplars) == train
    histograms = [
        label_histogram(str(tmp_path / 'training' / (n[:-4] + '.png')))
        for n in train
    ]
    for i, (query, refs) in enumerate(exemplars.items()):
        cosine = [
            h @ histograms[i] / np.linalg.norm(h) /
            np.linalg.norm(histograms[i]) for h in histograms
        ]
        cosine[i] = -1
        # the retrieved references hold the three best similarities (the
        # order among equal ones is free)
        np.testing.assert_allclose([cosine[train.index(r)] for r in refs],
                                   sorted(cosine, reverse=True)[:3],
                                   rtol=1e-5)
        assert query not in refs
    out_test = tmp_path / 'built_ref_test.txt'
    tool.main(['ade20k', str(tmp_path), '--split', 'validation',
               '--gallery-split', 'training', '--out', str(out_test),
               '--top-k', '2', '--workers', '2'])
    test_lists = read_exemplar_list(str(out_test))
    assert all(set(refs) <= set(train) for refs in test_lists.values())
    # the dataset takes the lists it wrote
    dataset = ADE20KDataset(
        str(tmp_path), split='validation', exemplar_list=str(out_test),
        test_mode=True)
    assert len(dataset) == 2


def test_deepfashion_list_from_the_split_file(tmp_path, tool):
    names = ['img/WOMEN/Tees/id_00000001/01_1_front.jpg',
             'img/WOMEN/Tees/id_00000001/01_2_side.jpg']
    (tmp_path / 'train.txt').write_text('\n'.join(names) + '\n')
    out = tmp_path / 'ref.txt'
    tool.main(['deepfashion', str(tmp_path), '--split', 'train', '--out',
               str(out)])
    assert out.read_text() == f'{names[0]},{names[1]}\n{names[1]},' \
        f'{names[0]}\n'
    with pytest.raises(FileNotFoundError, match='val.txt not found'):
        tool.main(['deepfashion', str(tmp_path), '--split', 'val', '--out',
                   str(out)])


def test_prepare_ade20k_checks_labels_and_writes_both_lists(tmp_path):
    import cv2

    prepare = load_tool('dataset_converters/ade20k/prepare_ade20k.py')
    make_ade20k(str(tmp_path), num_train=4, num_val=2)
    (tmp_path / 'ade20k_ref.txt').unlink()
    kept = (tmp_path / 'ade20k_ref_test.txt').read_text()
    prepare.main([str(tmp_path), '--top-k', '2'])
    assert len(read_exemplar_list(str(tmp_path / 'ade20k_ref.txt'))) == 4
    assert (tmp_path / 'ade20k_ref_test.txt').read_text() == kept
    prepare.main([str(tmp_path), '--top-k', '2', '--overwrite'])
    assert (tmp_path / 'ade20k_ref_test.txt').read_text() != kept
    bad = tmp_path / 'annotations' / 'validation' / 'ADE_val_00000002.png'
    cv2.imwrite(str(bad), np.full((48, 64), 200, np.uint8))
    with pytest.raises(ValueError, match='ADE_val_00000002.png: class id 200'):
        prepare.main([str(tmp_path)])


def test_celebahq_list_by_thumbnails(tmp_path, tool):
    train = make_celebahq(str(tmp_path), num_train=4)
    out = tmp_path / 'ref.txt'
    tool.main(['celebahq', str(tmp_path), '--split', 'train', '--out',
               str(out), '--top-k', '2'])
    exemplars = read_exemplar_list(str(out))
    assert list(exemplars) == train
    assert all(len(refs) == 2 and q not in refs
               for q, refs in exemplars.items())
