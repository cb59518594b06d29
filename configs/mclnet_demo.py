# The embedded demo: a small MCL-Net trained on the photos that ship inside
# the scikit-image wheel (condition: Canny edges; exemplar: a randomly
# warped, colour-jittered copy of the photo, i.e. a pseudo pair, Eq. 5),
# 128×128 images with 32×32 correspondence and narrow channels, on 2 CPU
# cores. Run: bash scripts/demo.sh (or python tools/train.py THIS_FILE).
_base_ = [
    './_base_/models/mclnet_spade_256.py',
    './_base_/schedules/constant_then_linear_decay.py'
]

# What differs from the 256×256 model: sizes and widths, a 1-channel
# condition, plain residual blocks and no spectral norm in the encoders, no
# attention in the generator, one shared matching block, no relu5_2 (the
# VGG stops at relu4_2), loss weights balanced for this short run, and a
# correspondence-only warm-up before the joint training (custom_hooks). It
# matches CoCosNet's centred 3×3 neighbourhoods as the 256×256 configs do:
# with the shifted-Gram warp they add about 10 s to a 3-minute run, and the
# held-out warp came out 0.36 dB better than with per-position matching
# (docs/correspondence_quality.md).
image_size = 128
feature_size = image_size // 4
narrow_encoder = dict(
    out_channels=64,
    channels=(16, 32, 32, 64, 64),
    num_res_blocks=1,
    # plain residual blocks + projection instead of CoCosNet's SPADE
    # blocks: cheaper, and what docs/correspondence_quality.md measured
    res_block='plain',
    with_spectral_norm=False)
model = dict(
    generator=dict(
        correspondence=dict(
            cond_encoder=dict(narrow_encoder, in_channels=1),
            image_encoder=narrow_encoder,
            matching=dict(out_channels=64, num_blocks=1),
            scm=dict(num_positions=feature_size**2, out_channels=64),
            upsample_mode='bilinear'),
        generator=dict(
            base_channels=16, hidden_channels=32, use_attention=False)),
    discriminator=dict(base_channels=16, num_layers=3, use_attention=False),
    vgg=dict(layers=('relu1_2', 'relu2_2', 'relu3_2', 'relu4_2')),
    losses=dict(
        mcl=dict(loss_weight=0.5, chunk_size=None),
        feature_consistency=dict(loss_weight=1.0),
        # every demo pair is a pseudo pair: one L1 over four layers stands
        # for both VGG terms
        perceptual=dict(
            layer_weights=dict(
                _delete_=True,
                relu1_2=1 / 16,
                relu2_2=1 / 8,
                relu3_2=1 / 4,
                relu4_2=1.0),
            criterion='l1',
            # Caffe-VGG activations are in the hundreds at relu1_2
            loss_weight=0.02),
        vgg_feature_matching=None,
        contextual=dict(
            layer_weights=dict(_delete_=True, relu3_2=2.0, relu4_2=4.0),
            loss_weight=1.0),
        gan=dict(loss_weight=1.0),
        disc_feature_matching=dict(loss_weight=2.0)))

train_pipeline = [
    dict(type='LoadImageFromFile', key='gt', channel_order='rgb'),
    dict(
        type='RandomResizedCrop',
        keys=['gt'],
        crop_size=(image_size, image_size),
        scale=(0.3, 1.0),
        ratio=(1.0, 1.0)),
    dict(type='Flip', keys=['gt'], flip_ratio=0.5, direction='horizontal'),
    dict(type='CannyEdges', key='gt', out_key='cond'),
    dict(type='PseudoExemplar', prob=1.0),
    dict(
        type='PackInputs',
        keys=['cond', 'exemplar'],
        meta_keys=['is_pseudo_pair'])
]
held_out_pipeline = [
    dict(type='LoadImageFromFile', key='gt', channel_order='rgb'),
    dict(type='CenterCropLongEdge', keys=['gt']),
    dict(type='Resize', keys=['gt'], scale=(image_size, image_size)),
    dict(type='CannyEdges', key='gt', out_key='cond'),
    dict(type='PseudoExemplar', prob=1.0),
    # the exemplar's known affine: the grid hook's oracle warp
    dict(
        type='PackInputs',
        keys=['cond', 'exemplar'],
        meta_keys=['is_pseudo_pair', 'exemplar_affine'])
]
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='BundledPhotoDataset', pipeline=train_pipeline))
held_out_dataloader = dict(
    batch_size=2,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='BundledPhotoDataset',
        photos=('chelsea.png', 'motorcycle_right.png'),
        pipeline=held_out_pipeline,
        test_mode=True))

# the schedule base's optimisers, faster for a 240-iteration run; constant lr
total_iters = 240
train_cfg = dict(max_iters=total_iters, val_interval=10**9)
param_scheduler = None
optim_wrapper = dict(
    generator=dict(optimizer=dict(lr=1e-3)),
    discriminator=dict(optimizer=dict(lr=2e-3)))
val_cfg = None
val_dataloader = None
val_evaluator = None
# tools/test.py CONFIG CHECKPOINT: the paper's metrics (the runtime
# base's test_evaluator) on the held-out photos, a set of two, so FID and
# SWD are only illustrative. LPIPS diversity needs a local AlexNet/VGG16
# file: docs/evaluation.md.
test_dataloader = held_out_dataloader

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(
        type='AtomicCheckpointHook',
        interval=240,
        by_epoch=False,
        max_keep_ckpts=1))
custom_hooks = [
    dict(
        type='TranslationGridHook',
        dataloader=held_out_dataloader,
        interval=80),
    # 500 steps (about 100 s) training the correspondence network alone
    # with Adam β (0.9, 0.999) before the joint training: not in the paper;
    # the evidence is in docs/correspondence_quality.md
    dict(type='CorrespondenceWarmupHook', iters=500, log_interval=100)
]
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
# the learning rates above are for one process with batch 2
auto_scale_lr = dict(base_batch_size=2)
