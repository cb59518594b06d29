# MMagic's own Pix2Pix facades config plus the marginal contrastive loss on
# the U-Net's encoder features of the mask and of the translated photo.
_base_ = 'mmagic::pix2pix/pix2pix_vanilla-unet-bn_1xb1-80kiters_facades.py'
custom_imports = dict(imports=['mclnet_plugin'], allow_failed_imports=False)

model = dict(
    type='Pix2PixWithAuxLoss',
    loss_config=dict(
        gen_auxiliary_loss=dict(
            type='PatchMarginalContrastiveLoss',
            # the first three down-sampling blocks of the U-Net
            layers=[
                'model.model.0', 'model.model.1.model.0',
                'model.model.1.model.1.model.0'
            ],
            layer_channels=[64, 128, 256],
            head_channels=256,
            num_patches=256,
            margin=0.4,
            temperature=0.05,
            loss_weight=1.0,
            data_info=dict(
                net='gen', source_img='real_mask', target_img='fake_photo'),
            loss_name='loss_mcl')))
