# Copyright (c) mmselfemd contributors. All rights reserved.
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmpretrain.models import BaseSelfSupervisor, CosineEMA
from mmpretrain.structures import DataSample

from mmselfemd.registry import MODELS

SMALL_VIEW_TARGETS = ('both', 'parent', 'other')
PAIR_REDUCTIONS = ('mean', 'sum')


def _build(cfg: Union[dict, nn.Module]) -> nn.Module:
    """Build a module from a config in mmselfemd's registry, or pass a
    module through."""
    return cfg if isinstance(cfg, nn.Module) else MODELS.build(cfg)


@MODELS.register_module()
class SelfEMD(BaseSelfSupervisor):
    """Self-EMD: BYOL on feature maps, compared by Earth Mover's Distance.

    Implementation of `Self-EMD: Self-Supervised Object Detection without
    ImageNet <https://arxiv.org/abs/2011.13677>`_. The online network
    (``backbone`` → ``neck``, which keeps H×W → ``head``, a predictor and
    the EMD loss) predicts the projection map of an exponential moving
    average of backbone and neck (mmpretrain's ``CosineEMA``, mmengine's
    momentum convention: ``base_momentum=0.01`` is BYOL's τ = 0.99). An
    optional global branch (``global_neck`` + ``global_head``) adds plain
    BYOL on pooled features. ``inputs[0]`` and ``inputs[1]`` are the two
    large views, matched to each other's target; ``inputs[2:]`` are small
    views, online only, matched by ``small_view_targets``. Views, loss
    scale and momentum convention: ``docs/en/advanced_guides/model.md``.

    Args:
        backbone (dict): Config of the backbone, e.g. mmpretrain
            ``ResNet`` with ``out_indices=(3, )``.
        neck (dict): Config of the spatial projector
            (:class:`SpatialBYOLNeck`).
        head (dict): Config of the spatial head (:class:`SpatialEMDHead`).
        global_neck (dict, optional): Config of the global projector
            (``NonLinearNeck`` with ``with_avg_pool=True``). None (together
            with ``global_head``) turns the global branch off. Defaults to
            None.
        global_head (dict, optional): Config of the global head
            (``LatentPredictHead``). Defaults to None.
        global_loss_weight (float): Weight of ``loss_global``.
            Defaults to 1.0.
        base_momentum (float): Start momentum in mmengine's convention
            (weight of the online net). Defaults to 0.01 (τ = 0.99).
        end_momentum (float): Final momentum of the cosine schedule over
            the ``max_iters`` of the current ``MessageHub``. Defaults to
            0.0 (τ = 1).
        small_view_targets (str): Which large views' targets each small
            view is matched to: ``'both'``, ``'parent'`` or ``'other'``
            (the last two read ``DataSample.parent``). Defaults to
            ``'both'``.
        pair_reduction (str): ``'mean'`` (2 × the mean over the (online,
            target) pairs) or ``'sum'``; equal with two views.
            Defaults to ``'mean'``.
        pretrained (str, optional): Checkpoint to initialise from.
            Defaults to None.
        data_preprocessor (dict or nn.Module, optional): Preprocessor;
            ``SelfSupDataPreprocessor`` when no type is given.
            Defaults to None.
        init_cfg (dict or list[dict], optional): Initialization config.
            Defaults to None.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 global_neck: Optional[dict] = None,
                 global_head: Optional[dict] = None,
                 global_loss_weight: float = 1.0,
                 base_momentum: float = 0.01,
                 end_momentum: float = 0.0,
                 small_view_targets: str = 'both',
                 pair_reduction: str = 'mean',
                 pretrained: Optional[str] = None,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        # Build from mmselfemd's registry (which falls back to
        # mmpretrain's), so that our neck and head build whatever the
        # default scope; BaseSelfSupervisor would use mmpretrain's registry.
        super().__init__(
            backbone=_build(backbone),
            neck=_build(neck),
            head=_build(head),
            pretrained=pretrained,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        if (global_neck is None) != (global_head is None):
            raise ValueError('global_neck and global_head must be given '
                             'together (global branch) or both be None')
        if small_view_targets not in SMALL_VIEW_TARGETS:
            raise ValueError(
                f'small_view_targets must be one of {SMALL_VIEW_TARGETS}, '
                f'got {small_view_targets!r}')
        if pair_reduction not in PAIR_REDUCTIONS:
            raise ValueError(
                f'pair_reduction must be one of {PAIR_REDUCTIONS}, got '
                f'{pair_reduction!r}')
        self.pair_reduction = pair_reduction
        if global_neck is not None:
            self.global_neck = _build(global_neck)
            self.global_head = _build(global_head)
        else:
            self.global_neck = None
            self.global_head = None
        self.global_loss_weight = global_loss_weight
        self.small_view_targets = small_view_targets
        # target_net.module[0] is the backbone, [1] the spatial neck and
        # [2] the global neck (if any), so checkpoint keys of the target
        # backbone are ``target_net.module.0.*`` as in mmpretrain's BYOL.
        self.target_net = CosineEMA(
            self._online_target_modules(),
            momentum=base_momentum,
            end_momentum=end_momentum)

    @property
    def with_global(self) -> bool:
        """Whether the global (pooled BYOL) branch is on."""
        return self.global_neck is not None

    def _online_target_modules(self) -> nn.ModuleList:
        """The online modules that the target network averages."""
        modules = [self.backbone, self.neck]
        if self.with_global:
            modules.append(self.global_neck)
        return nn.ModuleList(modules)

    def _small_view_choices(
            self, inputs: Sequence[torch.Tensor],
            data_samples: Optional[Sequence[DataSample]]
    ) -> List[Optional[torch.Tensor]]:
        """For each small view, the per-sample index (0 or 1) of the large
        view whose target it is matched to, or None for both.

        Reads ``DataSample.parent`` for ``'parent'`` / ``'other'``; called
        before any forward pass or target update.
        """
        choices: List[Optional[torch.Tensor]] = []
        for s in range(2, len(inputs)):
            if self.small_view_targets == 'both':
                choices.append(None)
                continue
            if not data_samples or any('parent' not in ds
                                       for ds in data_samples):
                raise ValueError(
                    f'small_view_targets={self.small_view_targets!r} needs '
                    'DataSample.parent on every sample')
            parents = torch.as_tensor(
                [int(ds.parent[s]) for ds in data_samples],
                device=inputs[s].device)
            if not bool(((parents == 0) | (parents == 1)).all()):
                raise ValueError(f'parent of small view {s} must be 0 or 1, '
                                 f'got {parents.tolist()}')
            choices.append(parents if self.small_view_targets ==
                           'parent' else 1 - parents)
        return choices

    @staticmethod
    def _pairs(
        choices: Sequence[Optional[torch.Tensor]]
    ) -> List[Tuple[int, int]]:
        """The (online view, target index) pairs.

        Target indices 0 and 1 are the large views; a small view with a
        per-sample choice gets its own target, :meth:`_with_choices`'
        entry ``2, 3, ...`` in the order of the small views.
        """
        pairs = [(0, 1), (1, 0)]
        chosen_target = 2
        for s, chosen in enumerate(choices, start=2):
            if chosen is None:
                pairs += [(s, 0), (s, 1)]
            else:
                pairs.append((s, chosen_target))
                chosen_target += 1
        return pairs

    @staticmethod
    def _with_choices(
            targets: Sequence[torch.Tensor],
            choices: Sequence[Optional[torch.Tensor]]) -> List[torch.Tensor]:
        """The two large views' targets, then one target per small view
        with a per-sample choice (``targets[0]`` where it chose 0, else
        ``targets[1]``), as :meth:`_pairs` indexes them."""
        shape = (-1, ) + (1, ) * (targets[0].dim() - 1)
        return list(targets[:2]) + [
            torch.where(chosen.view(shape) == 0, targets[0], targets[1])
            for chosen in choices if chosen is not None
        ]

    def loss(self, inputs: List[torch.Tensor],
             data_samples: Optional[List[DataSample]] = None,
             **kwargs) -> Dict[str, torch.Tensor]:
        """Compute the losses of one training step and update the target.

        Args:
            inputs (list[torch.Tensor]): Views, each (B, 3, H, W): two large
                views first, then any number of small views.
            data_samples (list[DataSample], optional): Per-sample data; only
                ``parent`` is read, and only when ``small_view_targets`` is
                ``'parent'`` or ``'other'``. Defaults to None.

        Returns:
            dict[str, torch.Tensor]: ``loss_emd`` and, with the global
            branch, ``loss_global``; with the head's ``diagnostics``, also
            the detached ``emd_entropy_ratio``, ``emd_matching_gain`` and
            ``emd_marginal_err`` (no ``loss`` in their names: mmengine's
            ``parse_losses`` logs them without optimising them).
        """
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError('SelfEMD needs a list of at least 2 views '
                             '(2 large views first, then small views)')
        choices = self._small_view_choices(inputs, data_samples)

        # compute online features
        feats = [self.backbone(view) for view in inputs]
        online = [self.neck(f)[0] for f in feats]

        # compute target features, of the two large views
        with torch.no_grad():
            # update the target net
            self.target_net.update_parameters(self._online_target_modules())
            target_modules = self.target_net.module
            target_feats = [target_modules[0](view) for view in inputs[:2]]
            target = [target_modules[1](f)[0] for f in target_feats]
            if self.with_global:
                target_global = [
                    target_modules[2](f)[0] for f in target_feats
                ]

        # the losses, over the same (online view, target) pairs; 2 * mean
        # or the sum over the pairs: with two views both are
        # l(0 -> 1) + l(1 -> 0)
        pairs = self._pairs(choices)
        scale = 2 if self.pair_reduction == 'mean' else len(pairs)
        loss_emd, diagnostics = self.head.loss_pairs(
            online, self._with_choices(target, choices), pairs,
            return_diagnostics=True)
        losses = dict(loss_emd=scale * loss_emd)
        # logged, not optimised (no 'loss' in the names)
        losses.update({f'emd_{k}': v for k, v in diagnostics.items()})
        if self.with_global:
            online_global = [self.global_neck(f)[0] for f in feats]
            target_global = self._with_choices(target_global, choices)
            pair_losses = [
                self.global_head.loss(online_global[i], target_global[j])
                for i, j in pairs
            ]
            losses['loss_global'] = self.global_loss_weight * scale * \
                torch.stack(pair_losses).mean()
        return losses
