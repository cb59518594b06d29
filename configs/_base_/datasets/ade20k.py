# ADE20K (ADEChallengeData2016): 150 classes + 0 = "other" → 151 one-hot
# channels, made on the device by ConditionDataPreprocessor(one_hot=...)
# from the integer label map. 256×256: training resizes to 286 and crops
# 256 (CoCosNet), testing resizes to 256. Preparation: docs/datasets.md.
_base_ = ['./exemplar_pairs.py']
label_nc = 151
data_root = 'data/ADEChallengeData2016'
image_size = 256
load_size = 286

train_pipeline = [
    dict(type='LoadCheckedImage', key='gt', channel_order='rgb'),
    dict(type='LoadLabelMap', key='cond', num_classes=label_nc),
    # CoCosNet draws one number: hard < 0.2 <= easy < 0.7 <= self-reference;
    # with the pseudo pair drawn after (p 0.3), 2/7 gives its 20/50/30
    dict(type='ChooseExemplar', hard_prob=2 / 7),
    dict(type='LoadCheckedImage', key='exemplar', channel_order='rgb'),
    dict(type='Resize', keys=['gt', 'exemplar'], scale=(load_size, ) * 2),
    dict(
        type='Resize',
        keys=['cond'],
        scale=(load_size, ) * 2,
        interpolation='nearest'),
    dict(
        type='AlignedRandomCrop',
        keys=['gt', 'cond'],
        crop_size=(image_size, ) * 2),
    dict(
        type='Crop',
        keys=['exemplar'],
        crop_size=(image_size, ) * 2,
        random_crop=True),
    dict(type='Flip', keys=['gt', 'cond'], flip_ratio=0.5),
    dict(type='Flip', keys=['exemplar'], flip_ratio=0.5),
    {{_base_.pseudo_exemplar}},
    {{_base_.pack_inputs}},
]
test_pipeline = [
    dict(type='LoadCheckedImage', key='gt', channel_order='rgb'),
    dict(type='LoadLabelMap', key='cond', num_classes=label_nc),
    dict(type='ChooseExemplar', hard_prob=0.0),
    dict(type='LoadCheckedImage', key='exemplar', channel_order='rgb'),
    dict(type='Resize', keys=['gt', 'exemplar'], scale=(image_size, ) * 2),
    dict(
        type='Resize',
        keys=['cond'],
        scale=(image_size, ) * 2,
        interpolation='nearest'),
    {{_base_.pack_inputs}},
]
train_dataloader = dict(
    dataset=dict(
        type='ADE20KDataset',
        data_root=data_root,
        split='training',
        exemplar_list='ade20k_ref.txt',
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        type='ADE20KDataset',
        data_root=data_root,
        split='validation',
        exemplar_list='ade20k_ref_test.txt',
        pipeline=test_pipeline))
test_dataloader = val_dataloader
