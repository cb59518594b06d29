_base_ = '../default_runtime.py'

# Constant learning rate for the first half, then linear decay to 0 (the
# SPADE/CoCosNet schedule, e.g. ADE20K 100 + 100 epochs). Leaf configs set
# `total_iters` and repeat the two lines below that depend on it.
total_iters = 100000
train_cfg = dict(by_epoch=False, max_iters=total_iters, val_interval=10000)
param_scheduler = dict(
    type='LinearLR',
    start_factor=1.0,
    end_factor=0.0,
    begin=total_iters // 2,
    end=total_iters,
    by_epoch=False)

# Paper §4.1: Adam β = (0, 0.999), lr 1e-4 (G) / 4e-4 (D). SPADE's and
# CoCosNet's code use β2 = 0.9; CoCosNet's generator Adam has eps 1e-3.
# Floats: torch >= 2.6 rejects int betas.
optim_wrapper = dict(
    constructor='MultiOptimWrapperConstructor',
    generator=dict(
        type='OptimWrapper',
        optimizer=dict(type='Adam', lr=1e-4, betas=(0.0, 0.999), eps=1e-3)),
    discriminator=dict(
        type='OptimWrapper',
        optimizer=dict(type='Adam', lr=4e-4, betas=(0.0, 0.999))))
