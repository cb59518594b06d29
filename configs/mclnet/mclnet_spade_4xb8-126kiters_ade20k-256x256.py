_base_ = [
    '../_base_/models/mclnet_spade_256.py', '../_base_/datasets/ade20k.py',
    '../_base_/schedules/constant_then_linear_decay.py'
]
# 4 GPUs × batch 8 = 32 as CoCosNet; 200 epochs (100 constant + 100
# decay) of the 20,210 training images.
label_nc = 151
model = dict(
    # the pipeline packs integer label maps; one-hot on the device
    data_preprocessor=dict(one_hot=dict(cond=label_nc)),
    generator=dict(
        correspondence=dict(cond_encoder=dict(in_channels=label_nc))))
total_iters = 126000
train_cfg = dict(max_iters=total_iters)
param_scheduler = dict(begin=total_iters // 2, end=total_iters)
