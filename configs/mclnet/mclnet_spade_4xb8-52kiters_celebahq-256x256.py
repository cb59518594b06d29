_base_ = [
    '../_base_/models/mclnet_spade_256.py', '../_base_/datasets/celebahq.py',
    '../_base_/schedules/constant_then_linear_decay.py'
]
# 4 GPUs × batch 8 = 32 as CoCosNet; 60 epochs (30 + 30) of ~28k
# training images. Condition: landmark edges (7 channels, the paper's).
label_nc = 7
model = dict(
    generator=dict(
        correspondence=dict(
            cond_encoder=dict(in_channels=label_nc),
            upsample_mode='bilinear')),  # CoCosNet's --warp_bilinear
    # CoCosNet's CelebA-HQ/DeepFashion commands: perceptual MSE at relu4_2
    # × 0.001, VGG feature matching 10 × 1.0
    losses=dict(
        perceptual=dict(layer_weights=dict(_delete_=True, relu4_2=1.0),
                        loss_weight=0.001),
        vgg_feature_matching=dict(loss_weight=10.0)))
total_iters = 52000
train_cfg = dict(max_iters=total_iters)
param_scheduler = dict(begin=total_iters // 2, end=total_iters)
