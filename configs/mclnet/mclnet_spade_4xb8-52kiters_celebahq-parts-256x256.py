# CelebA-HQ with CoCosNet's condition instead of the paper's: edges from the
# CelebAMask-HQ part masks (part boundaries and Canny edges of background
# and hair, 13 part distance maps, boundaries only: 15 channels).
_base_ = ['./mclnet_spade_4xb8-52kiters_celebahq-256x256.py']
label_nc = 15
model = dict(
    generator=dict(
        correspondence=dict(cond_encoder=dict(in_channels=label_nc))))

load_structure = [
    dict(type='LoadCheckedImage', key='gt', channel_order='rgb'),
    dict(type='LoadFaceParts'),
]
load_exemplar = [
    dict(type='LoadCheckedImage', key='exemplar', channel_order='rgb'),
    dict(type='Resize', keys=['gt', 'exemplar'], scale=(256, 256)),
]
render_edges = dict(
    type='RenderFaceEdges',
    source='parts',
    out_key='cond',
    low_threshold=60,
    high_threshold=140)
train_pipeline = [
    *load_structure,
    dict(type='ChooseExemplar', hard_prob=2 / 7),  # 20/50/30, as the base
    *load_exemplar,
    # RenderFaceEdges resizes the part map to the photo; flipped together,
    # left and right parts swap labels
    dict(type='Flip', keys=['gt', 'face_parts'], flip_ratio=0.5),
    dict(type='Flip', keys=['exemplar'], flip_ratio=0.5),
    render_edges,
    {{_base_.pseudo_exemplar}},
    {{_base_.pack_inputs}},
]
test_pipeline = [
    *load_structure,
    dict(type='ChooseExemplar', hard_prob=0.0),
    *load_exemplar,
    render_edges,
    {{_base_.pack_inputs}},
]
train_dataloader = dict(
    dataset=dict(condition_source='parts', pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(condition_source='parts', pipeline=test_pipeline))
test_dataloader = val_dataloader
