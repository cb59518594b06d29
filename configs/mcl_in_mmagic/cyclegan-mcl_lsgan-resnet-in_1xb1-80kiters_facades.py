# MMagic's own CycleGAN facades config plus the marginal contrastive loss in
# both directions, on each generator's encoder features of its input and of
# its translation.
_base_ = 'mmagic::cyclegan/cyclegan_lsgan-resnet-in_1xb1-80kiters_facades.py'
custom_imports = dict(imports=['mclnet_plugin'], allow_failed_imports=False)

mcl = dict(
    type='PatchMarginalContrastiveLoss',
    # the stem, the two down-sampling convs and the 2nd residual block
    layers=['model.0', 'model.1', 'model.2', 'model.4'],
    layer_channels=[64, 128, 256, 256],
    head_channels=256,
    num_patches=256,
    margin=0.4,
    temperature=0.05,
    loss_weight=1.0,
    loss_name='loss_mcl')
model = dict(
    type='CycleGANWithAuxLoss',
    loss_config=dict(gen_auxiliary_loss=[
        dict(
            mcl,
            data_info=dict(
                net='gen_photo', source_img='real_mask',
                target_img='fake_photo')),
        dict(
            mcl,
            data_info=dict(
                net='gen_mask', source_img='real_photo',
                target_img='fake_mask')),
    ]))
