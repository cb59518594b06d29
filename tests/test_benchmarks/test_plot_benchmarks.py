"""benchmarks/plot_benchmarks.py reads docs/benchmarks.md's own tables and
draws both figures the document shows."""
import os.path as osp
import sys

import matplotlib.image
import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'benchmarks'))
import plot_benchmarks  # noqa: E402

DOC = osp.join(ROOT, 'docs', 'benchmarks.md')


def test_markdown_tables_keeps_header_and_rows_and_drops_the_rule():
    text = ('intro\n\n| a | b |\n|---|:-:|\n| 1 | x y |\n| 2 | z |\n'
            'between\n| not | a table |\n\n| c |\n|---|\n')
    assert plot_benchmarks.markdown_tables(text) == [
        (['a', 'b'], [['1', 'x y'], ['2', 'z']]),
        (['c'], []),
    ]


def test_the_documents_tables_are_read_as_stated():
    with open(DOC, encoding='utf-8') as f:
        tables = plot_benchmarks.markdown_tables(f.read())
    series = plot_benchmarks.component_series(
        plot_benchmarks.find_table(tables, plot_benchmarks.COMPONENT_HEADER,
                                   DOC))
    gram = series[('3x3-warp', 'shifted-Gram')]
    assert gram['n'] == [4096, 16384]
    assert gram['time_ms'] == [740.6, 21285.6]
    assert gram['peak_mb'] == [129.0, 514.9]
    assert {component for component, _ in series} == {
        'SCM', 'warp', '3x3-warp', 'MCL'}
    times = plot_benchmarks.stage_times(
        plot_benchmarks.find_table(tables, ('stage', ), DOC))
    assert times['efficient']['whole step'] == 13.08
    assert times['efficient --amp']['SPADE generator'] == 2.92
    # the stages sum to the row the document gives for their sum
    for case, stages in times.items():
        parts = sum(seconds for stage, seconds in stages.items()
                    if stage not in ('sum of stages', 'whole step'))
        assert parts == pytest.approx(stages['sum of stages'], abs=0.02), case


def test_a_missing_table_names_the_document():
    with pytest.raises(ValueError, match=r'notes\.md.*component \| N'):
        plot_benchmarks.find_table([], plot_benchmarks.COMPONENT_HEADER,
                                   'notes.md')


def test_main_writes_both_figures(tmp_path):
    written = plot_benchmarks.main(['--doc', DOC, '--out', str(tmp_path)])
    assert [osp.basename(path) for path in written] == [
        'correspondence_vs_n.png', 'step_breakdown.png']
    for path in written:
        image = matplotlib.image.imread(path)
        assert image.shape[0] > 300 and image.shape[1] > 800
        assert image[..., :3].std() > 0.05  # drawn, not blank
