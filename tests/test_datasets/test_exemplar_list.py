import pytest

from mclnet_plugin.datasets import read_exemplar_list, write_exemplar_list


def test_reads_cocosnet_lines_in_order(tmp_path):
    path = tmp_path / 'ref.txt'
    path.write_text('a.jpg,b.jpg,c.jpg\n\n d.jpg , a.jpg\n')
    exemplars = read_exemplar_list(str(path))
    assert list(exemplars) == ['a.jpg', 'd.jpg']
    assert exemplars['a.jpg'] == ['b.jpg', 'c.jpg']
    assert exemplars['d.jpg'] == ['a.jpg']
    assert exemplars['d.jpg'].line_no == 3


def test_write_then_read_round_trips(tmp_path):
    exemplars = {'x/1.jpg': ['x/2.jpg', 'x/3.jpg'], 'x/2.jpg': ['x/1.jpg']}
    write_exemplar_list(str(tmp_path / 'ref.txt'), exemplars)
    assert (tmp_path / 'ref.txt').read_text() == (
        'x/1.jpg,x/2.jpg,x/3.jpg\nx/2.jpg,x/1.jpg\n')
    assert read_exemplar_list(str(tmp_path / 'ref.txt')) == exemplars


@pytest.mark.parametrize('text, message', [
    ('a.jpg,b.jpg\nc.jpg\n', r'ref.txt, line 2: .*no reference'),
    ('a.jpg,,b.jpg\n', r'ref.txt, line 1: empty name'),
    ('a.jpg,b.jpg\na.jpg,c.jpg\n', r'ref.txt, line 2: .*listed twice'),
    ('\n\n', r'ref.txt is empty'),
])
def test_bad_lines_name_file_and_line(tmp_path, text, message):
    path = tmp_path / 'ref.txt'
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_exemplar_list(str(path))


def test_missing_list_and_unwritable_names(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.txt'):
        read_exemplar_list(str(tmp_path / 'nope.txt'))
    with pytest.raises(ValueError, match='without commas'):
        write_exemplar_list(str(tmp_path / 'x.txt'), {'a,b.jpg': ['c.jpg']})
    with pytest.raises(ValueError, match='at least one reference'):
        write_exemplar_list(str(tmp_path / 'x.txt'), {'a.jpg': []})


def test_windows_separators_read_as_slashes(tmp_path):
    path = tmp_path / 'ref.txt'
    path.write_text('img\\MEN\\a.jpg, img\\MEN\\b.jpg,img/MEN/c.jpg\r\n')
    assert read_exemplar_list(str(path)) == {
        'img/MEN/a.jpg': ['img/MEN/b.jpg', 'img/MEN/c.jpg']
    }
