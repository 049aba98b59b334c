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
    ImageNet <https://arxiv.org/abs/2011.13677>`_.

    Online network: ``backbone`` → ``neck`` (a :class:`SpatialBYOLNeck`,
    keeps H×W) → ``head`` (a :class:`SpatialEMDHead`: 1×1-conv predictor
    and EMD loss). Target network: an exponential moving average
    (mmpretrain ``CosineEMA``) of backbone + neck (+ ``global_neck`` when
    the global branch is on), run without gradient. Optional global branch
    (on by default in the configs): ``global_neck`` (mmpretrain
    ``NonLinearNeck`` on pooled backbone features) + ``global_head``
    (mmpretrain ``LatentPredictHead``), i.e. plain BYOL beside the dense
    branch, with its own weight.

    **Views.** ``inputs[0]`` and ``inputs[1]`` are the two large views; both
    go through the online and the target network. ``inputs[2:]`` (any
    number, possibly none) are small views; they go through the online
    network only. Matched pairs (online prediction → target projection):

    - large views, symmetric: view 0 → target of view 1, and view 1 →
      target of view 0;
    - each small view, by ``small_view_targets``: ``'both'`` (default, our
      choice) → target of view 0 and target of view 1; ``'parent'`` → the
      target of the large view it was cut from; ``'other'`` → the target of
      the other large view. The last two read ``DataSample.parent`` (index
      of the parent large view per view) and fail without it; ``'both'``
      does not need it.

    **Loss scale.** For each pair, ``2 - 2 * S`` (BYOL's ``2 - 2 cos``,
    with S the EMD similarity ``sum_ij P_ij cos_ij``, total mass 1). With
    two views ``loss_emd = l(0 → 1) + l(1 → 0)``, BYOL's symmetrised loss,
    in [0, 8], whatever ``pair_reduction``. With small views,
    ``pair_reduction`` says how the pairs add up: ``'mean'`` (default)
    averages all pairs and multiplies by 2, so the loss stays in [0, 8] and
    each small view dilutes the large-view pair (4 small views matched to
    both targets leave the large pair 2/10 of the loss); ``'sum'`` adds
    every pair with weight 1, so the large pair keeps its two-view weight
    and each small pair adds its own. ``loss_global`` is reduced the same
    way over the same pairs and scaled by ``global_loss_weight``; with
    ``CosineSimilarityLoss(shift_factor=2, scale_factor=2)`` its pair loss
    is also ``2 - 2 cos``.

    **Momentum convention (mmengine's, as in mmpretrain's BYOL).**
    ``base_momentum`` is the weight of the *online* network in the update
    ``target = (1 - m) * target + m * online``, so ``base_momentum=0.01``
    is the classic BYOL τ = 0.99. ``m`` follows a cosine from
    ``base_momentum`` to ``end_momentum`` (0, i.e. τ = 1) over the
    ``max_iters`` read from the current ``MessageHub`` (set by the runner;
    a script or test that calls ``loss`` more than once must set it). The
    first call copies the online weights; every call copies the online BN
    buffers. The target is updated inside :meth:`loss`, before the target
    forward, like mmpretrain's BYOL.

    Args:
        backbone (dict): Config of the backbone, e.g. mmpretrain
            ``ResNet`` with ``out_indices=(3, )``.
        neck (dict): Config of the spatial projector
            (:class:`SpatialBYOLNeck`).
        head (dict): Config of the spatial head (:class:`SpatialEMDHead`).
        global_neck (dict, optional): Config of the global projector
            (``NonLinearNeck`` with ``with_avg_pool=True``). None (together
            with ``global_head``) turns the global branch off: no
            ``loss_global`` and no global parameters. Defaults to None.
        global_head (dict, optional): Config of the global head
            (``LatentPredictHead``). Defaults to None.
        global_loss_weight (float): Weight of ``loss_global``.
            Defaults to 1.0.
        base_momentum (float): Start momentum in mmengine's convention
            (weight of the online net). Defaults to 0.01 (τ = 0.99).
        end_momentum (float): Final momentum of the cosine schedule.
            Defaults to 0.0 (τ = 1).
        small_view_targets (str): Which large views' target maps each small
            view is matched to: ``'both'``, ``'parent'`` or ``'other'``.
            Defaults to ``'both'``.
        pair_reduction (str): ``'mean'`` or ``'sum'`` over the (online,
            target) pairs (see **Loss scale**; equal with two views).
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

        Reads ``DataSample.parent`` for ``'parent'`` / ``'other'``; checked
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
    def _pairs(choices: Sequence[Optional[torch.Tensor]],
               targets: List[List[torch.Tensor]]) -> List[Tuple[int, int]]:
        """Build the (online view, target index) pairs.

        ``targets`` holds one list per target kind (spatial maps, and
        global vectors when on), each starting with the two large views;
        per-sample selections for ``'parent'`` / ``'other'`` are appended
        to them.
        """
        pairs = [(0, 1), (1, 0)]
        for s, chosen in enumerate(choices, start=2):
            if chosen is None:
                pairs += [(s, 0), (s, 1)]
                continue
            for kind in targets:
                sel = chosen.view(-1, *([1] * (kind[0].dim() - 1))) == 0
                kind.append(torch.where(sel, kind[0], kind[1]))
            pairs.append((s, len(targets[0]) - 1))
        return pairs

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
            dict[str, torch.Tensor]: ``loss_emd`` and, when the global branch
            is on, ``loss_global``; plus, when the head's ``diagnostics`` is
            on, the detached transport-plan diagnostics
            ``emd_entropy_ratio``, ``emd_matching_gain`` and
            ``emd_marginal_err`` (names without ``loss``, so mmengine's
            ``parse_losses`` logs them through the MessageHub without
            adding them to the loss).
        """
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError('SelfEMD needs a list of at least 2 views '
                             '(2 large views first, then small views)')
        choices = self._small_view_choices(inputs, data_samples)
        feats = [self.backbone(view) for view in inputs]
        online = [self.neck(f)[0] for f in feats]

        with torch.no_grad():
            self.target_net.update_parameters(self._online_target_modules())
            target_modules = self.target_net.module
            target_feats = [target_modules[0](view) for view in inputs[:2]]
            targets = [[target_modules[1](f)[0] for f in target_feats]]
            if self.with_global:
                targets.append(
                    [target_modules[2](f)[0] for f in target_feats])

        pairs = self._pairs(choices, targets)
        # 2 * mean or the sum over pairs: with two views, both are
        # l(0->1) + l(1->0).
        scale = 2 if self.pair_reduction == 'mean' else len(pairs)
        loss_emd, diag = self.head.loss_pairs(
            online, targets[0], pairs, return_diagnostics=True)
        losses = dict(loss_emd=scale * loss_emd)
        # Logged, not optimised (no 'loss' in the names, see
        # BaseModel.parse_losses): emd_entropy_ratio, emd_matching_gain,
        # emd_marginal_err.
        losses.update({f'emd_{k}': v for k, v in diag.items()})
        if self.with_global:
            online_global = [self.global_neck(f)[0] for f in feats]
            pair_losses = [
                self.global_head.loss(online_global[i], targets[1][j])
                for i, j in pairs
            ]
            losses['loss_global'] = self.global_loss_weight * scale * \
                torch.stack(pair_losses).mean()
        return losses
