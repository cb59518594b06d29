# DeepFashion: 20-channel pose maps (RGB OpenPose skeleton + 17 limb
# distance maps), 256×256.
# The dataset classes and pipelines for the paper's three tasks are built in
# the datasets issue; until then this base fixes the condition width and
# the dataloader settings, and the configs that use it load and build their
# model but cannot iterate real data. See docs/ (datasets) when it lands.
label_nc = 20
data_root = 'data/DeepFashion'
train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='DeepFashionPoseDataset', data_root=data_root, split='train'))
val_dataloader = dict(
    batch_size=4,
    num_workers=4,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='DeepFashionPoseDataset',
        data_root=data_root,
        split='test',
        test_mode=True))
test_dataloader = val_dataloader
