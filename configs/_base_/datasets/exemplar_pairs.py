# What the three tasks' dataset bases share: the pseudo pair of Eq. 5, the
# packing of a sample and the dataloader settings (4 GPUs × batch 8 = 32,
# CoCosNet's batch). With probability `prob` the exemplar is the
# ground truth under a random affine warp (rotation, scale, shift);
# CoCosNet feeds its ground truth as exemplar 30% of the time. No colour
# jitter: Eq. 5's target is the ground truth as it is, which a recoloured
# exemplar could never be warped into (CoCosNet's self-reference is not
# recoloured either). Every parameter is explicit here.
pseudo_exemplar = dict(
    type='PseudoExemplar',
    prob=0.3,
    degrees=15.0,
    scale=(0.9, 1.1),
    translate=0.1,
    brightness=0.0,
    contrast=0.0,
    hue=0.0)
pack_inputs = dict(
    type='PackInputs',
    keys=['cond', 'exemplar'],
    meta_keys=['is_pseudo_pair', 'query_id', 'exemplar_path'])
train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True))
val_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(test_mode=True))
test_dataloader = val_dataloader
