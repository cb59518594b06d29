# DeepFashion In-shop: body keypoints rendered as CoCosNet's 20-channel pose
# map (RGB OpenPose skeleton + 17 limb distance maps, RenderPoseMap),
# 256×256. Keypoints: MMPose JSON or OpenPose files; exemplar: the same
# person and outfit in another view. Preparation: docs/datasets.md.
_base_ = ['./exemplar_pairs.py']
label_nc = 20
data_root = 'data/DeepFashion'
image_size = 256

load_pair = [
    dict(type='LoadCheckedImage', key='gt', channel_order='rgb'),
    # OpenPose's own detection threshold; MMPose JSON scores every joint
    dict(type='LoadPoseKeypoints', key='cond', min_score=0.1),
]
load_exemplar = [
    dict(type='LoadCheckedImage', key='exemplar', channel_order='rgb'),
    dict(type='Resize', keys=['gt', 'exemplar'], scale=(image_size, ) * 2),
]
train_pipeline = [
    *load_pair,
    # CoCosNet (--real_reference_probability 0 --video_like): the first
    # other view of the same outfit, a self-reference pair (the ground truth
    # is the warped exemplar's target)
    dict(type='ChooseExemplar', hard_prob=0.0, self_reference=True),
    *load_exemplar,
    # CoCosNet does not flip; mirroring the joints (left and right swap
    # names) before rendering keeps the pose map consistent, so we do.
    dict(
        type='FlipWithPoints',
        keys=['gt'],
        point_layouts=dict(keypoints='openpose18'),
        flip_ratio=0.5),
    dict(type='RenderPoseMap', out_key='cond', joint_radius=4, limb_width=4),
    # no synthetic pseudo pairs (CoCosNet has none on DeepFashion): add
    # {{_base_.pseudo_exemplar}} here to mix them in
    {{_base_.pack_inputs}},
]
test_pipeline = [
    *load_pair,
    dict(type='ChooseExemplar', hard_prob=0.0),
    *load_exemplar,
    dict(type='RenderPoseMap', out_key='cond', joint_radius=4, limb_width=4),
    {{_base_.pack_inputs}},
]
train_dataloader = dict(
    dataset=dict(
        type='DeepFashionPoseDataset',
        data_root=data_root,
        split='train',
        exemplar_list='train_ref.txt',
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        type='DeepFashionPoseDataset',
        data_root=data_root,
        split='val',
        exemplar_list='val_ref.txt',
        pipeline=test_pipeline))
test_dataloader = val_dataloader
