"""The correspondence benchmark's --quick run: training must find a better
correspondence than the untrained network, and the oracle (true flow) must
be above every network."""
import json
import os.path as osp
import sys

import pytest

sys.path.insert(
    0, osp.join(osp.dirname(osp.dirname(osp.dirname(__file__))), 'benchmarks'))
import correspondence_quality  # noqa: E402


@pytest.fixture(scope='module')
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp('correspondence_quality')
    # one thread: torch is imported before the benchmark could make OpenMP
    # wait passively, and spinning workers are slow on a shared machine
    report = correspondence_quality.main(
        ['--quick', '--threads', '1', '--out', str(out)])
    return out, report['conditions']['edges']


def mean_over_seeds(results, variant, set_name, key):
    rows = results['variants'][variant][set_name]
    return sum(row[key] for row in rows) / len(rows)


def test_quick_run_writes_table_json_plot_and_grid(quick_run):
    out, _ = quick_run
    for name in ('table.md', 'results.json', 'margins.png', 'grid.png'):
        assert osp.getsize(osp.join(out, name)) > 0
    with open(osp.join(out, 'results.json')) as file:
        summary = json.load(file)['summary']['edges']
    assert set(summary) == {'untrained', 'baseline', '+MCL (m=0.4)'}


def test_trained_correspondence_beats_the_untrained_one(quick_run):
    _, results = quick_run
    untrained_epe = mean_over_seeds(results, 'untrained', 'synthetic', 'epe')
    for variant in ('baseline', '+MCL (m=0.4)'):
        assert mean_over_seeds(results, variant, 'synthetic',
                               'epe') < untrained_epe
    # the CoCosNet baseline's sharper but mostly wrong matches need not
    # raise the PSNR of a 100-iteration run; MCL's must
    assert mean_over_seeds(results, '+MCL (m=0.4)', 'synthetic',
                           'psnr') > mean_over_seeds(
                               results, 'untrained', 'synthetic', 'psnr')


def test_oracle_is_above_every_network(quick_run):
    _, results = quick_run
    for set_name in ('synthetic', 'stereo'):
        oracle = results['oracle'][set_name]['psnr']
        for variant in results['variants']:
            assert mean_over_seeds(results, variant, set_name,
                                   'psnr') < oracle
