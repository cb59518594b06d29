"""Two gloo processes with batch b train as one process with batch 2b
(docs/reliability.md): the same gradients after a step, checkpoints written
by rank 0 alone, and pseudo-pair draws that differ between the ranks but
repeat from run to run."""
import json
import sys

import pytest
import torch

from tests.tiny_configs import REPO, tiny_demo_config
from tests.tool_modules import run_command

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        torch.cuda.is_available(), reason='tests the CPU (gloo) path')
]

# Gradients summed in another order (DDP's all-reduce of two half-batch
# means against one full-batch mean) differ by float32 rounding: relative
# to the largest gradient of each tensor (measured: at most 3.1e-5), and
# absolute, relative to the largest gradient of the model, for the biases
# in front of a normalisation, whose true gradient is 0 and whose computed
# one is rounding noise (about 1e-6 against gradients of about 10).
GRAD_RTOL = 1e-4
NOISE_RTOL = 1e-6


def write_config(tmp_path, batch, deterministic, name):
    cfg = tiny_demo_config(tmp_path / 'unused', max_iters=1)
    cfg.custom_imports.imports = list(cfg.custom_imports.imports) + [
        'tests.dist_probe'
    ]
    cfg.custom_hooks = [dict(type='DistProbeHook')]
    cfg.default_hooks.checkpoint.interval = 1
    cfg.train_dataloader.batch_size = batch
    pipeline = cfg.train_dataloader.dataset.pipeline
    pipeline[-1].meta_keys = ['is_pseudo_pair', 'gt_path', 'exemplar_affine']
    if deterministic:
        # the same samples must see the same augmentation in both set-ups
        pipeline[1] = dict(type='Resize', keys=['gt'], scale=(32, 32))
        pipeline[2].flip_ratio = 0.0
        pipeline[4].update(degrees=0.0, scale=(1.0, 1.0), translate=0.0,
                           brightness=0.0, contrast=0.0, hue=0.0)
        # per-position matching: CoCosNet's centred 3×3 cosines amplify
        # float32 rounding (batch 1 and 2 run other kernels) to 4e-3 of a
        # tensor's largest gradient through the 0.01 temperature; that the
        # 3×3 path has no coupling between samples is proven in float64,
        # tests/test_models/test_mclnet.py
        cfg.model.generator.correspondence.match_kernel = 1
        # SGD with lr 1: the weight change is minus the gradient
        for part in ('generator', 'discriminator'):
            cfg.optim_wrapper[part].optimizer = dict(type='SGD', lr=1.0)
    path = tmp_path / f'{name}.py'
    cfg.dump(str(path))
    return path


def dist_train(config, work_dir, port, *options):
    run_command([
        'bash', 'tools/dist_train.sh',
        str(config), '2', '--work-dir',
        str(work_dir), *options
    ],
                PORT=str(port),
                OMP_NUM_THREADS='1')


def batches(work_dir, rank):
    path = work_dir / f'batches_rank{rank}.jsonl'
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_two_processes_give_the_gradients_of_one_with_twice_the_batch(
        tmp_path):
    single, double = tmp_path / 'single', tmp_path / 'dist'
    run_command([
        sys.executable, 'tools/train.py',
        str(write_config(tmp_path, 2, True, 'single')), '--work-dir',
        str(single)
    ],
                OMP_NUM_THREADS='1',
                PYTHONPATH=str(REPO))
    dist_train(write_config(tmp_path, 1, True, 'dist'), double, 29541)

    # the same two photos: one process takes both, each rank one of them
    (single_batch, ) = batches(single, 0)
    rank_batches = [batches(double, rank)[0] for rank in (0, 1)]
    assert [s['photo'] for s in single_batch['samples']] == [
        batch['samples'][0]['photo'] for batch in rank_batches
    ]
    initial = torch.load(single / 'initial.pth')
    for key, value in torch.load(double / 'initial.pth').items():
        assert torch.equal(value, initial[key]), key
    after = {
        run: torch.load(work / 'iter_1.pth', weights_only=False)['state_dict']
        for run, work in (('single', single), ('dist', double))
    }
    grads = {
        key: {run: start - weights[key]
              for run, weights in after.items()}
        for key, start in initial.items()
        if start.is_floating_point() and not key.endswith(('_u', '_v'))
    }
    assert len(grads) > 100
    largest = max(grad['single'].abs().max() for grad in grads.values())
    for key, grad in grads.items():
        difference = (grad['dist'] - grad['single']).abs().max()
        bound = GRAD_RTOL * grad['single'].abs().max() + NOISE_RTOL * largest
        assert difference <= bound, (key, float(difference), float(bound))
    # rank 0 alone writes: one checkpoint, no partial files
    assert sorted(p.name for p in double.glob('*.pth*')) == [
        'initial.pth', 'iter_1.pth'
    ]


def test_pseudo_pairs_differ_between_ranks_and_repeat_between_runs(
        tmp_path):
    config = write_config(tmp_path, 2, False, 'random')
    runs = [tmp_path / 'a', tmp_path / 'b']
    for port, work_dir in zip((29551, 29561), runs):
        dist_train(config, work_dir, port)
    draws = [[batches(work_dir, rank) for rank in (0, 1)]
             for work_dir in runs]
    assert draws[0] == draws[1]  # reproducible
    affines = [[s['affine'] for s in draws[0][rank][0]['samples']]
               for rank in (0, 1)]
    assert affines[0] != affines[1]  # each rank its own random stream


def test_a_distributed_run_resumes_its_own_checkpoint_exactly(tmp_path):
    """Checkpoints hold the weights under the same names with and without
    DDP wrappers (MCLNet's state-dict hooks); before, a distributed run
    saved ``generator.module.*`` that MMEngine's loader, looking for
    ``generator.*``, skipped with a warning, and resumed from initial
    weights."""
    cfg = tiny_demo_config(tmp_path / 'unused', max_iters=2)
    cfg.custom_hooks = []
    cfg.default_hooks.checkpoint.interval = 1
    config = tmp_path / 'two_iters.py'
    cfg.dump(str(config))
    whole, parts = tmp_path / 'whole', tmp_path / 'parts'
    dist_train(config, whole, 29571)
    dist_train(config, parts, 29581, '--cfg-options', 'train_cfg.max_iters=1')
    dist_train(config, parts, 29591, '--resume')
    reference, resumed = (torch.load(work / 'iter_2.pth',
                                     weights_only=False)['state_dict']
                          for work in (whole, parts))
    assert not any('.module.' in key for key in reference
                   if not key.startswith('generator_ema.'))
    assert reference.keys() == resumed.keys()
    for key, value in reference.items():
        assert torch.equal(resumed[key], value), key


def test_the_correspondence_warmup_keeps_the_ranks_weights_equal(tmp_path):
    """CorrespondenceWarmupHook averages its gradients over the ranks: the
    two ranks train on different photos yet start the joint training from
    the same weights."""
    cfg = tiny_demo_config(tmp_path / 'unused', max_iters=1)
    cfg.custom_imports.imports = list(cfg.custom_imports.imports) + [
        'tests.dist_probe'
    ]
    cfg.custom_hooks = [
        dict(type='DistProbeHook'),
        dict(type='CorrespondenceWarmupHook', iters=3),
        dict(type='RankWeightsProbeHook')
    ]
    # what DistProbeHook records
    cfg.train_dataloader.dataset.pipeline[-1].meta_keys = [
        'is_pseudo_pair', 'gt_path', 'exemplar_affine'
    ]
    config = tmp_path / 'warmup.py'
    cfg.dump(str(config))
    work_dir = tmp_path / 'work'
    dist_train(config, work_dir, 29571)
    initial = torch.load(work_dir / 'initial.pth')
    ranks = [torch.load(work_dir / f'start_rank{rank}.pth') for rank in (0, 1)]
    warmed = [key for key in initial
              if not torch.equal(initial[key], ranks[0][key])]
    assert warmed and all(
        key.startswith('generator.correspondence.') for key in warmed)
    for key, value in ranks[0].items():
        assert torch.equal(value, ranks[1][key]), key
