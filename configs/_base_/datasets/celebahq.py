# CelebA-HQ (as released with CelebAMask-HQ): face edges → face, 256×256.
# The paper's condition: 68 face landmarks connected into polylines plus
# Canny edges outside the face, with per-part distance maps (RenderFaceEdges,
# 7 channels: edges, jaw/brows/nose/eyes/lips distances, lines only).
# CoCosNet's 15-channel part-mask input: ../mclnet/*celebahq-parts*.py.
# Preparation: docs/datasets.md.
_base_ = ['./exemplar_pairs.py']
label_nc = 7
data_root = 'data/CelebAMask-HQ'
image_size = 256

load_exemplar = [
    dict(type='LoadCheckedImage', key='exemplar', channel_order='rgb'),
    dict(type='Resize', keys=['gt', 'exemplar'], scale=(image_size, ) * 2),
]
render_edges = dict(
    type='RenderFaceEdges',
    source='landmarks',
    out_key='cond',
    low_threshold=60,
    high_threshold=140)
train_pipeline = [
    dict(type='LoadCheckedImage', key='gt', channel_order='rgb'),
    dict(type='LoadFaceLandmarks', key='cond'),
    # CoCosNet draws one number: hard < 0.2 <= easy < 0.7 <= self-reference;
    # with the pseudo pair drawn after (p 0.3), 2/7 gives its 20/50/30
    dict(type='ChooseExemplar', hard_prob=2 / 7),
    *load_exemplar,
    # the landmarks are mirrored (left and right swap) with the photo
    dict(
        type='FlipWithPoints',
        keys=['gt'],
        point_layouts=dict(landmarks='ibug68'),
        flip_ratio=0.5),
    dict(type='Flip', keys=['exemplar'], flip_ratio=0.5),
    render_edges,
    {{_base_.pseudo_exemplar}},
    {{_base_.pack_inputs}},
]
test_pipeline = [
    dict(type='LoadCheckedImage', key='gt', channel_order='rgb'),
    dict(type='LoadFaceLandmarks', key='cond'),
    dict(type='ChooseExemplar', hard_prob=0.0),
    *load_exemplar,
    render_edges,
    {{_base_.pack_inputs}},
]
train_dataloader = dict(
    dataset=dict(
        type='CelebAHQEdgeDataset',
        data_root=data_root,
        split='train',
        condition_source='landmarks',
        exemplar_list='train_ref.txt',
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        type='CelebAHQEdgeDataset',
        data_root=data_root,
        split='val',
        condition_source='landmarks',
        exemplar_list='val_ref.txt',
        pipeline=test_pipeline))
test_dataloader = val_dataloader
