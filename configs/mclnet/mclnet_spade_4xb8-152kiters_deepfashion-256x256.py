_base_ = [
    '../_base_/models/mclnet_spade_256.py',
    '../_base_/datasets/deepfashion.py',
    '../_base_/schedules/constant_then_linear_decay.py'
]
# 4 GPUs × batch 8 = 32 as CoCosNet; 100 epochs (50 + 50) of ~48.7k
# training pairs; warp-self (pseudo pair) weight 100 as CoCosNet.
label_nc = 20
model = dict(
    generator=dict(
        correspondence=dict(
            cond_encoder=dict(in_channels=label_nc),
            # CoCosNet's --warp_patch: 4×4 full-resolution patches move,
            # so the warped person keeps its detail (Table 4 measures it)
            warp_patch=True)),
    losses=dict(
        # warp-self at full resolution on every (same-outfit) pair
        pseudo_pair=dict(loss_weight=100.0),
        perceptual=dict(layer_weights=dict(_delete_=True, relu4_2=1.0),
                        loss_weight=0.001),
        vgg_feature_matching=dict(loss_weight=10.0)))
total_iters = 152000
train_cfg = dict(max_iters=total_iters)
param_scheduler = dict(begin=total_iters // 2, end=total_iters)

# every picture of a pose condition (training grids, tools/test.py
# --grid, tools/translate.py) shows the pose map's RGB skeleton
visualizer = dict(cond_channels=(0, 1, 2))
