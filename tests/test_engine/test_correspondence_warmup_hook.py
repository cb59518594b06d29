"""CorrespondenceWarmupHook on the tiny demo config: it trains the
correspondence network alone, before the first iteration and after the
grid hook's untrained record, and not again when a run resumes."""
import json
import random

import numpy as np
import pytest
import torch
from mmengine.runner import Runner

from mclnet_plugin.engine import CorrespondenceWarmupHook
from mclnet_plugin.engine.correspondence_warmup_hook import _endless
from tests.tiny_configs import tiny_demo_config


def without_warmup(cfg):
    cfg.custom_hooks = [
        hook for hook in cfg.custom_hooks
        if hook.type != 'CorrespondenceWarmupHook'
    ]
    return cfg


def snapshot(runner):
    return {
        name: value.clone()
        for name, value in runner.model.state_dict().items()
    }


def test_warmup_trains_only_the_correspondence_network(tmp_path):
    runner = Runner.from_cfg(without_warmup(tiny_demo_config(tmp_path)))
    before = snapshot(runner)
    CorrespondenceWarmupHook(iters=3, log_interval=1).before_train(runner)
    after = runner.model.state_dict()
    changed = {name for name in before
               if not torch.equal(before[name], after[name])}
    prefix = 'generator.correspondence.'
    assert changed and all(name.startswith(prefix) for name in changed)
    for part in ('cond_encoder', 'image_encoder', 'matching', 'scm'):
        assert any(name.startswith(prefix + part) for name in changed), part
    # not a training iteration
    assert runner.iter == 0


def test_warmup_is_skipped_when_a_run_resumes(tmp_path):
    runner = Runner.from_cfg(without_warmup(tiny_demo_config(tmp_path)))
    runner.train_loop._iter = 5
    before = snapshot(runner)
    CorrespondenceWarmupHook(iters=3).before_train(runner)
    after = runner.model.state_dict()
    assert all(torch.equal(before[name], after[name]) for name in before)


def test_the_grids_untrained_record_comes_before_the_warmup(tmp_path):
    reports = []
    for name, warmup in (('plain', None), ('warm', 4)):
        cfg = without_warmup(tiny_demo_config(tmp_path / name, max_iters=1))
        if warmup:
            cfg.custom_hooks.append(
                dict(type='CorrespondenceWarmupHook', iters=warmup))
        Runner.from_cfg(cfg).train()
        reports.append(
            json.loads((tmp_path / name / 'translation_grids' /
                        'report.json').read_text()))
    plain, warm = reports
    assert warm['before_training'] == plain['before_training']
    assert warm['after_training'] != plain['after_training']


def test_negative_iterations_are_refused():
    with pytest.raises(ValueError, match='iters must be >= 0'):
        CorrespondenceWarmupHook(iters=-1)


def test_warmup_leaves_the_runs_random_streams_and_restarts_its_loader(
        tmp_path):
    runner = Runner.from_cfg(without_warmup(tiny_demo_config(tmp_path)))
    # building the training loop draws a seed (as it does before any hook)
    assert runner.iter == 0
    states = random.getstate(), np.random.get_state(), torch.get_rng_state()
    CorrespondenceWarmupHook(iters=3).before_train(runner)
    assert random.getstate() == states[0]
    np.testing.assert_array_equal(np.random.get_state()[1], states[1][1])
    assert torch.equal(torch.get_rng_state(), states[2])
    # a finite loader (one batch per epoch) is restarted at its end
    batches = _endless([{'batch': 0}])
    assert [next(batches) for _ in range(3)] == [{'batch': 0}] * 3
