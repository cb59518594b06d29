_base_ = [
    '../_base_/models/mclnet_spade_256.py', '../_base_/datasets/celebahq.py',
    '../_base_/schedules/constant_then_linear_decay.py'
]
# 4 GPUs × batch 8 = 32 as CoCosNet; 60 epochs (30 + 30) of ~28k
# training images. Condition: landmark edges (7 channels, the paper's).
label_nc = 7
model = dict(
    generator=dict(
        correspondence=dict(cond_encoder=dict(in_channels=label_nc))))
total_iters = 52000
train_cfg = dict(max_iters=total_iters)
param_scheduler = dict(begin=total_iters // 2, end=total_iters)
