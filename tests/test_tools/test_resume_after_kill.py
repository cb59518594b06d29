"""Killed runs resume exactly (docs/reliability.md): tools/train.py is
SIGKILLed mid-run, or in the middle of writing a checkpoint, and
``--resume`` reaches the weights, optimizer states, EMA and logged losses of
an uninterrupted run with the same seed, bit for bit on the CPU."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.tiny_configs import REPO, tiny_demo_config
from tests.tool_modules import run_command

pytestmark = pytest.mark.slow

ITERS = 6
INTERVAL = 2

# tools/train.py whose file writes die (SIGKILL) halfway through the
# checkpoint of iteration KILL_AT, as when a node goes down mid-save
KILLED_MID_SAVE = '''
import os, runpy, signal, sys
from mmengine.fileio import LocalBackend
kill_at, argv = sys.argv[1], sys.argv[2:]
put = LocalBackend.put
def dying_put(self, obj, filepath):
    if os.path.basename(filepath).lstrip('.').startswith(f'iter_{kill_at}.'):
        with open(filepath, 'wb') as f:
            f.write(obj[:len(obj) // 2])
        os.kill(os.getpid(), signal.SIGKILL)
    return put(self, obj, filepath)
LocalBackend.put = dying_put
sys.argv = ['tools/train.py'] + argv
runpy.run_path('tools/train.py', run_name='__main__')
'''


def write_config(tmp_path: Path, hook: str = 'AtomicCheckpointHook',
                 keep: int = 1) -> Path:
    cfg = tiny_demo_config(tmp_path / 'unused', max_iters=ITERS)
    # the demo's correspondence warm-up runs before iteration 0 and is
    # skipped on resume: the resumed run must still repeat the whole one
    cfg.custom_hooks = [dict(type='CorrespondenceWarmupHook', iters=2)]
    cfg.model.ema_config = dict(momentum=0.01)
    cfg.default_hooks.checkpoint.update(
        type=hook, interval=INTERVAL, max_keep_ckpts=keep)
    path = tmp_path / f'tiny_{hook}_{keep}.py'
    cfg.dump(str(path))
    return path


def train(config: Path, work_dir: Path, *extra: str):
    return run_command([
        sys.executable, 'tools/train.py',
        str(config), '--work-dir',
        str(work_dir), *extra
    ])


def logged_losses(work_dir: Path) -> dict:
    """iteration → every logged loss, from the runs' scalars.json files
    (a resumed run appends a second file)."""
    losses = {}
    for path in sorted(work_dir.glob('*/vis_data/scalars.json')):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            losses[record['iter']] = {
                key: value
                for key, value in record.items() if key.startswith('loss')
            }
    return losses


def assert_same_training_state(resumed: dict, reference: dict) -> None:
    assert resumed['meta']['iter'] == reference['meta']['iter'] == ITERS
    weights = reference['state_dict']
    assert set(resumed['state_dict']) == set(weights)
    assert any(key.startswith('generator_ema.') for key in weights)
    for key, value in weights.items():
        assert torch.equal(resumed['state_dict'][key], value), key
    for part in ('generator', 'discriminator'):
        states = reference['optimizer'][part]['state']
        assert states, part
        for index, state in states.items():
            for name, value in state.items():
                assert torch.equal(
                    resumed['optimizer'][part]['state'][index][name],
                    value), (part, index, name)


@pytest.fixture(scope='module')
def uninterrupted(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp('uninterrupted')
    work_dir = tmp_path / 'work'
    train(write_config(tmp_path), work_dir)
    return work_dir


def load(path: Path) -> dict:
    return torch.load(path, map_location='cpu', weights_only=False)


def test_sigkill_mid_run_then_resume_equals_an_uninterrupted_run(
        tmp_path, uninterrupted):
    work_dir = tmp_path / 'work'
    process = subprocess.Popen(
        [
            sys.executable, 'tools/train.py',
            str(write_config(tmp_path)), '--work-dir',
            str(work_dir)
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    pointer = work_dir / 'last_checkpoint'
    deadline = time.monotonic() + 300
    while not pointer.is_file() and process.poll() is None:
        assert time.monotonic() < deadline, 'no checkpoint after 300 s'
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL, 'finished before the kill'
    killed_at = load(pointer.read_text())['meta']['iter']
    assert killed_at < ITERS

    train(write_config(tmp_path), work_dir, '--resume')
    assert_same_training_state(
        load(work_dir / f'iter_{ITERS}.pth'),
        load(uninterrupted / f'iter_{ITERS}.pth'))
    # the resumed run trained on the same batches: the same losses from
    # the first iteration after the checkpoint on
    reference, resumed = logged_losses(uninterrupted), logged_losses(work_dir)
    for iteration in range(killed_at + 1, ITERS + 1):
        assert resumed[iteration] == reference[iteration], iteration


def kill_during_save(config: Path, work_dir: Path) -> None:
    done = subprocess.run(
        [
            sys.executable, '-c', KILLED_MID_SAVE,
            str(2 * INTERVAL),
            str(config), '--work-dir',
            str(work_dir)
        ],
        cwd=REPO,
        capture_output=True,
        timeout=600)
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]


def test_kill_while_writing_a_checkpoint_leaves_the_last_one_resumable(
        tmp_path, uninterrupted):
    work_dir = tmp_path / 'work'
    kill_during_save(write_config(tmp_path), work_dir)
    # the half-written file is hidden; last_checkpoint names the complete
    # checkpoint before it, kept although max_keep_ckpts is 1
    assert sorted(path.name for path in work_dir.glob('*.pth*')) == [
        f'.iter_{2 * INTERVAL}.pth.partial', f'iter_{INTERVAL}.pth'
    ]
    assert (work_dir / 'last_checkpoint').read_text() == str(
        work_dir / f'iter_{INTERVAL}.pth')

    train(write_config(tmp_path), work_dir, '--resume')
    assert_same_training_state(
        load(work_dir / f'iter_{ITERS}.pth'),
        load(uninterrupted / f'iter_{ITERS}.pth'))
    # the stale partial file is gone, and only the newest checkpoint kept
    assert sorted(path.name for path in work_dir.glob('*.pth*')) == [
        f'iter_{ITERS}.pth'
    ]


def test_mmengines_plain_hook_loses_every_checkpoint_and_resume_says_so(
        tmp_path):
    """Why the configs use AtomicCheckpointHook: with max_keep_ckpts=1,
    MMEngine's CheckpointHook deletes the previous checkpoint before it
    writes the next one."""
    work_dir = tmp_path / 'work'
    config = write_config(tmp_path, hook='CheckpointHook')
    kill_during_save(config, work_dir)
    assert sorted(path.name for path in work_dir.glob('*.pth*')) == [
        f'iter_{2 * INTERVAL}.pth'
    ]
    assert os.path.getsize(work_dir / f'iter_{2 * INTERVAL}.pth') > 0
    assert (f'names the checkpoint to resume from, '
            f'{work_dir / f"iter_{INTERVAL}.pth"} does not exist'
            ) in failed_resume(config, work_dir)
    # given explicitly, the truncated file is named as such
    truncated = work_dir / f'iter_{2 * INTERVAL}.pth'
    assert (f'checkpoint to resume from {truncated} is not a complete '
            'PyTorch checkpoint') in failed_resume(config, work_dir,
                                                   str(truncated))


def failed_resume(config: Path, work_dir: Path, *checkpoint: str) -> str:
    """The error output of a ``--resume`` that must fail."""
    done = subprocess.run(
        [
            sys.executable, 'tools/train.py',
            str(config), '--work-dir',
            str(work_dir), '--resume', *checkpoint
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600)
    assert done.returncode != 0
    return done.stderr
