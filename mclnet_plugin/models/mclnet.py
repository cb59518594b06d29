"""MCL-Net: the model, its losses (Eq. 3-8) and its training step."""
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmagic.registry import MODELS
from mmagic.structures import DataSample
from mmengine.model import BaseModel, is_model_wrapper
from mmengine.optim import OptimWrapperDict

from .checkpointing import reject_generic_checkpointing
from .guarded_update import guarded_update

# Losses the model knows, by config key; all optional but 'gan'.
LOSS_KEYS = ('mcl', 'feature_consistency', 'cycle', 'pseudo_pair',
             'perceptual', 'vgg_feature_matching', 'contextual', 'gan',
             'disc_feature_matching')
VGG_LOSSES = ('perceptual', 'vgg_feature_matching', 'contextual')
# the parts a distributed run wraps in DDP, each alone
WRAPPED_PARTS = ('generator', 'discriminator')


@MODELS.register_module()
class MCLNet(BaseModel):
    """Marginal Contrastive Learning Network (Zhan et al., CVPR 2022).

    ``generator`` (a ``CorrespondenceGenerator``: E_X, E_Z, SCM, warp, SPADE)
    and ``discriminator`` (a ``MultiScaleDiscriminator`` on condition ⊕
    image) are trained alternately by ``train_step`` with an optim-wrapper
    dict holding ``generator`` and ``discriminator``. The generator objective
    is Eq. 8; each term is one method below, its weight in the loss config.

    Inputs (after the data preprocessor): ``inputs['cond']`` (B, label_nc,
    H, W), ``inputs['exemplar']`` (B, 3, H, W) in [-1, 1], and the data
    samples' ``gt_img``; a sample whose metainfo says ``is_pseudo_pair``
    has an augmented copy of its ground truth as exemplar (Eq. 5).

    Args:
        generator: config of the ``CorrespondenceGenerator``.
        discriminator: config of the discriminator; its ``in_channels`` is set
            to label_nc + 3.
        losses: dict from the keys of ``LOSS_KEYS`` to loss configs (absent
            or None = unused). 'gan' is required (an MMagic ``GANLoss``).
        vgg: config of the ``VGG19FeatureExtractor`` shared by the perceptual
            and contextual losses; needed only when those are used.
        data_preprocessor: a ``ConditionDataPreprocessor`` (or MMagic
            ``DataPreprocessor``) config; the condition is a non-image key
            (``non_image_keys=['cond']``), one-hot encoded there when the
            dataset gives label ids (``one_hot=dict(cond=151)``).
        ema_config: if set, an exponential moving average of the generator
            (MMagic's ``ExponentialMovingAverage``, e.g.
            ``dict(momentum=0.001)``) is updated after every generator step
            and used for inference.
    """

    def __init__(self,
                 generator: dict,
                 discriminator: dict,
                 losses: dict,
                 vgg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 ema_config: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.generator = MODELS.build(generator)
        # MMEngine's runner may wrap forwards after the model is built
        self._checkpointing_checked = False
        self.warps_patches = self.generator.correspondence.warp_patch
        label_nc = self.generator.correspondence.cond_encoder.in_channels
        self.discriminator = MODELS.build(
            dict(discriminator, in_channels=label_nc + 3))
        unknown = set(losses) - set(LOSS_KEYS)
        if unknown:
            raise ValueError(f'MCLNet: unknown loss keys {sorted(unknown)}; '
                             f'known: {LOSS_KEYS}')
        if losses.get('gan') is None:
            raise ValueError("MCLNet: losses['gan'] (e.g. dict(type="
                             "'GANLoss', gan_type='hinge')) is required")
        self.losses = nn.ModuleDict({
            key: MODELS.build(cfg)
            for key, cfg in losses.items() if cfg is not None
        })
        needs_vgg = [key for key in VGG_LOSSES if key in self.losses]
        if needs_vgg and vgg is None:
            raise ValueError(f'MCLNet: losses {needs_vgg} need VGG features;'
                             ' set `vgg=dict(type=\'VGG19FeatureExtractor\','
                             ' weights_path=...)`')
        self.vgg = MODELS.build(vgg) if needs_vgg else None
        self.generator_ema = None
        if ema_config is not None:
            self.generator_ema = MODELS.build(
                dict(dict(type='ExponentialMovingAverage'), **ema_config),
                default_args=dict(model=self.generator))
        # checkpoints hold the same keys with and without DDP wrappers
        self._register_state_dict_hook(
            lambda module, state_dict, prefix, *_: without_wrapper_keys(
                state_dict, prefix))
        self._register_load_state_dict_pre_hook(self._load_pre_hook)

    def _load_pre_hook(self, state_dict: dict, prefix: str, *_) -> None:
        without_wrapper_keys(state_dict, prefix)
        if self.generator_ema is not None:
            complete_generators(state_dict, prefix)

    # ------------------------------------------------------------ inference
    def forward(self,
                inputs: dict,
                data_samples: Optional[DataSample] = None,
                mode: str = 'predict') -> List[DataSample]:
        """Translate a preprocessed batch (with the EMA generator if there is
        one); returns one DataSample each."""
        generator = self.generator_ema or self.generator
        outputs = generator(inputs['cond'], inputs['exemplar'])
        images = dict(
            fake_img=outputs['fake_img'],
            warped_exemplar=outputs['warped_exemplar'],
            exemplar=inputs['exemplar'])
        if data_samples is not None and 'gt_img' in data_samples:
            images['gt_img'] = data_samples.gt_img
        # (B, 3, H, W) in [0, 255], each batch destructed once
        images = {
            key: self.data_preprocessor.destruct(value)
            for key, value in images.items()
        }
        # each sample keeps its input's metainfo (query_id, paths, ...)
        if data_samples is None:
            metainfo = [{}] * len(inputs['cond'])
        else:
            metainfo = [sample.metainfo for sample in data_samples.split()]
        return [
            DataSample(
                metainfo=metainfo[i],
                cond=cond,
                **{key: value[i]
                   for key, value in images.items()})
            for i, cond in enumerate(inputs['cond'])
        ]

    def val_step(self, data: dict) -> List[DataSample]:
        """Translate a batch; every image of the returned samples is RGB in
        [0, 255]."""
        # MMagic's test-time preprocessing leaves gt_img unnormalised in BGR
        # while inputs are normalised RGB; the training-time one treats all
        # alike, so outputs, exemplar and ground truth are destructed alike.
        data = self.data_preprocessor(data, True)
        with torch.no_grad():
            return self(**data, mode='predict')

    test_step = val_step

    # ------------------------------------------------------------- training
    def train_step(self, data: dict,
                   optim_wrapper: OptimWrapperDict) -> Dict[str, torch.Tensor]:
        """One generator update (Eq. 8), then one discriminator update;
        an update whose loss or gradient is not finite is skipped
        (``guarded_update``)."""
        if not self._checkpointing_checked:
            reject_generic_checkpointing(self)
            self._checkpointing_checked = True
        data = self.data_preprocessor(data, True)
        cond, exemplar = data['inputs']['cond'], data['inputs']['exemplar']
        gt = data['data_samples'].gt_img
        pseudo_pair = self._pseudo_pair_mask(data['data_samples'], gt)

        gen_wrapper = optim_wrapper['generator']
        with gen_wrapper.optim_context(self.generator):
            outputs = self.generator(
                cond, exemplar, gt, with_cycle='cycle' in self.losses)
            self.discriminator.requires_grad_(False)
            gen_losses = self.generator_losses(cond, exemplar, gt,
                                               pseudo_pair, outputs)
            self.discriminator.requires_grad_(True)
        gen_loss, log_vars = self.parse_losses(gen_losses)
        log_vars['loss_gen'] = log_vars.pop('loss')
        if 'loss_pse' in log_vars:
            # how many samples loss_pse averages over (0: it is 0)
            log_vars['pseudo_pairs'] = pseudo_pair.sum().float()
        gen_skipped = guarded_update(gen_wrapper, gen_loss, log_vars,
                                     self.generator, 'gen')
        if self.generator_ema is not None and not gen_skipped:
            self.generator_ema.update_parameters(
                self.generator.module
                if is_model_wrapper(self.generator) else self.generator)

        disc_wrapper = optim_wrapper['discriminator']
        with disc_wrapper.optim_context(self.discriminator):
            disc_losses = self.discriminator_losses(
                cond, outputs['fake_img'].detach(), gt)
        disc_loss, disc_log_vars = self.parse_losses(disc_losses)
        disc_log_vars['loss_disc'] = disc_log_vars.pop('loss')
        disc_log_vars.update(
            guarded_update(disc_wrapper, disc_loss, disc_log_vars,
                           self.discriminator, 'disc'))
        log_vars.update(gen_skipped, **disc_log_vars)
        return log_vars

    @staticmethod
    def _pseudo_pair_mask(data_samples: DataSample,
                          gt: torch.Tensor) -> torch.Tensor:
        flags = data_samples.metainfo.get('is_pseudo_pair')
        if flags is None:
            return torch.zeros(gt.shape[0], dtype=torch.bool, device=gt.device)
        return torch.tensor(flags, dtype=torch.bool, device=gt.device)

    def generator_losses(self, cond: torch.Tensor, exemplar: torch.Tensor,
                         gt: torch.Tensor, pseudo_pair: torch.Tensor,
                         outputs: dict) -> Dict[str, torch.Tensor]:
        """The weighted terms of Eq. 8 on one batch, by log name."""
        losses = self.correspondence_terms(outputs, gt, pseudo_pair)
        if self.vgg is not None:
            fake_feats = self.vgg(outputs['fake_img'])
            if 'perceptual' in self.losses or \
                    'vgg_feature_matching' in self.losses:
                with torch.no_grad():
                    gt_feats = self.vgg(gt)
            if 'perceptual' in self.losses:
                losses['loss_perc'] = self.losses['perceptual'](fake_feats,
                                                                gt_feats)
            if 'vgg_feature_matching' in self.losses:
                losses['loss_vgg_fm'] = self.vgg_feature_matching_loss(
                    fake_feats, gt_feats, pseudo_pair
                ) if pseudo_pair.any() else gt.new_zeros(())
            if 'contextual' in self.losses:
                with torch.no_grad():
                    exemplar_feats = self.vgg(exemplar)
                losses['loss_cxt'] = self.losses['contextual'](
                    fake_feats, exemplar_feats)
        losses.update(self.adversarial_losses(cond, outputs['fake_img'], gt))
        return losses

    def correspondence_terms(self, outputs: dict, gt: torch.Tensor,
                             pseudo_pair: torch.Tensor
                             ) -> Dict[str, torch.Tensor]:
        """The weighted terms of Eq. 8 that depend on the correspondence
        network's outputs only: MCL (Alg. 1), Eq. 3, 4 and 5."""
        losses = {}
        if 'mcl' in self.losses:
            losses['loss_mcl'] = self.losses['mcl'](outputs['cond_match'],
                                                    outputs['gt_match'])
        if 'feature_consistency' in self.losses:
            losses['loss_fcst'] = self.feature_consistency_loss(outputs)
        if 'cycle' in self.losses:
            losses['loss_cyc'] = self.cycle_loss(outputs)
        # Losses of the pseudo pairs are logged on every batch, 0 without a
        # pseudo pair, so that the log never repeats an earlier batch's
        # value as if it were current.
        if 'pseudo_pair' in self.losses:
            losses['loss_pse'] = self.pseudo_pair_loss(
                outputs, gt,
                pseudo_pair) if pseudo_pair.any() else gt.new_zeros(())
        return losses

    def correspondence_losses(self, data: dict) -> Dict[str, torch.Tensor]:
        """``correspondence_terms`` of a batch, from the correspondence
        network alone (no SPADE generator): what
        ``CorrespondenceWarmupHook`` optimises before the joint training."""
        data = self.data_preprocessor(data, True)
        cond, exemplar = data['inputs']['cond'], data['inputs']['exemplar']
        gt = data['data_samples'].gt_img
        generator = self.generator.module if is_model_wrapper(
            self.generator) else self.generator
        outputs = generator.correspondence(
            cond, exemplar, gt, with_cycle='cycle' in self.losses)
        return self.correspondence_terms(
            outputs, gt, self._pseudo_pair_mask(data['data_samples'], gt))

    def feature_consistency_loss(self, outputs: dict) -> torch.Tensor:
        """Eq. 3: ``‖E_X(X) − E_Z(Y)‖₁`` between condition and ground-truth
        encoder features, each L2-normalised per position as CoCosNet's
        (``CorrespondenceNet`` returns them so): raw features could meet it
        by shrinking their norms."""
        return self.losses['feature_consistency'](outputs['cond_feat'],
                                                  outputs['gt_feat'])

    def cycle_loss(self, outputs: dict) -> torch.Tensor:
        """Eq. 4: ``‖Tᵀ·T·Z − Z‖₁`` on the exemplar's feature grid."""
        return self.losses['cycle'](outputs['cycled_exemplar_pooled'],
                                    outputs['exemplar_pooled'])

    def pseudo_pair_loss(self, outputs: dict, gt: torch.Tensor,
                         pseudo_pair: torch.Tensor) -> torch.Tensor:
        """Eq. 5: ``‖T·Z − Y‖₁`` on samples whose exemplar Z is an augmented
        ground truth Y' (or, with ``ChooseExemplar(self_reference=True)``,
        another view of it), so the warped exemplar must match the ground
        truth Y on the condition's layout: on the feature grid (both
        pooled), or at full resolution when the net warps patches
        (CoCosNet's DeepFashion warp-self loss)."""
        key = 'warped_exemplar' if self.warps_patches else \
            'warped_exemplar_pooled'
        warped = outputs[key][pseudo_pair]
        target = F.adaptive_avg_pool2d(gt[pseudo_pair], warped.shape[-2:])
        return self.losses['pseudo_pair'](warped, target)

    def vgg_feature_matching_loss(self, fake_feats: Dict[str, torch.Tensor],
                                  gt_feats: Dict[str, torch.Tensor],
                                  pseudo_pair: torch.Tensor) -> torch.Tensor:
        """CoCosNet's VGG feature matching, the multi-layer L1 of Eq. 6
        (relu1_2…relu5_2 weighted 1/32…1), on the samples whose exemplar is
        their own ground truth (pseudo pairs, CoCosNet's self-reference):
        only there is the ground truth's texture the exemplar's, so on
        other samples it would pull the output's colours away from the
        exemplar, against the contextual loss."""
        return self.losses['vgg_feature_matching'](
            {layer: feat[pseudo_pair]
             for layer, feat in fake_feats.items()},
            {layer: feat[pseudo_pair]
             for layer, feat in gt_feats.items()})

    def adversarial_losses(self, cond: torch.Tensor, fake_img: torch.Tensor,
                           gt: torch.Tensor) -> Dict[str, torch.Tensor]:
        """L_adv of Eq. 8 for the generator: hinge GAN over the scales of
        the discriminator, plus discriminator feature matching."""
        fake_feats = self.discriminator(torch.cat([cond, fake_img], dim=1))
        losses = {
            'loss_gan_g':
            sum(
                self.losses['gan'](scale[-1], True, is_disc=False)
                for scale in fake_feats) / len(fake_feats)
        }
        if 'disc_feature_matching' in self.losses:
            with torch.no_grad():
                real_feats = self.discriminator(torch.cat([cond, gt], dim=1))
            losses['loss_disc_fm'] = self.losses['disc_feature_matching'](
                fake_feats, real_feats)
        return losses

    def discriminator_losses(self, cond: torch.Tensor,
                             fake_img: torch.Tensor,
                             gt: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Hinge loss of the discriminator on real and (detached) fake."""
        real, fake = self._disc_predictions(cond, fake_img, gt)
        gan = self.losses['gan']
        return dict(
            loss_gan_d_real=sum(gan(p, True, is_disc=True)
                                for p in real) / len(real),
            loss_gan_d_fake=sum(gan(p, False, is_disc=True)
                                for p in fake) / len(fake))

    def _disc_predictions(
            self, cond: torch.Tensor, fake_img: torch.Tensor,
            gt: torch.Tensor) -> Tuple[List[torch.Tensor], List[torch.Tensor]]:
        # One pass over real and fake stacked, so instance-normed layers see
        # each image alone and the convs run once.
        pairs = torch.cat([
            torch.cat([cond, gt], dim=1),
            torch.cat([cond, fake_img], dim=1)
        ])
        scales = self.discriminator(pairs)
        batch = cond.shape[0]
        return ([s[-1][:batch] for s in scales],
                [s[-1][batch:] for s in scales])


def without_wrapper_keys(state_dict: dict, prefix: str = '') -> None:
    """Drop, in place, the ``module.`` that a distributed run's wrappers
    put after ``generator.`` and ``discriminator.`` (MMagic's
    ``MMSeparateDistributedDataParallel`` wraps each in DDP, and the
    Runner saves ``model.state_dict()`` with the wrappers inside), so a
    checkpoint is the same from one process or many: MMEngine's loader
    looks for the unwrapped names, also when it loads into wrapped parts.
    """
    for part in WRAPPED_PARTS:
        wrapped = f'{prefix}{part}.module.'
        for key in [key for key in state_dict if key.startswith(wrapped)]:
            state_dict[f'{prefix}{part}.{key[len(wrapped):]}'] = \
                state_dict.pop(key)


def complete_generators(state_dict: dict, prefix: str = '') -> None:
    """Of a model with an EMA generator, a state dict that holds only one of
    the generators (tools/publish_model.py keeps one; a run without EMA has
    none) gets the other as a copy, in place: so the generator that
    translates (the EMA one) has the file's weights, and a fine-tuning run
    starts its average there."""
    online, ema = prefix + 'generator.', prefix + 'generator_ema.module.'
    has_online = any(key.startswith(online) for key in state_dict)
    has_ema = any(key.startswith(ema) for key in state_dict)
    if has_online == has_ema:
        return
    source, target = (online, ema) if has_online else (ema, online)
    for key in [key for key in state_dict if key.startswith(source)]:
        state_dict[target + key[len(source):]] = state_dict[key]
    # no update counted yet: the next EMA update starts from the weights
    state_dict.setdefault(prefix + 'generator_ema.steps',
                          torch.zeros((), dtype=torch.long))
