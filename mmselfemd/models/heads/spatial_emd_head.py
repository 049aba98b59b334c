# Copyright (c) mmselfemd contributors. All rights reserved.
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from mmselfemd.registry import MODELS

from ..utils import (
    EMD_DEFAULTS,
    EMDResult,
    check_emd_options,
    emd_similarity,
    transport_diagnostics,
)


def _mean_diagnostics(
        diags: List[Dict[str, torch.Tensor]]) -> Dict[str, torch.Tensor]:
    """Mean of per-problem diagnostics over all problems, with
    ``gain_ratio`` when the exact plan's gain is there."""
    diag = {
        k: torch.cat([d[k] for d in diags]).mean()
        for k in (diags[0] if diags else {})
    }
    if 'exact_matching_gain' in diag:
        diag['gain_ratio'] = diag['matching_gain'] / diag[
            'exact_matching_gain'].clamp_min(1e-12)
    return diag


@MODELS.register_module()
class SpatialEMDHead(BaseModule):
    """Predictor plus Earth Mover's Distance loss between two feature maps.

    The head of `Self-EMD <https://arxiv.org/abs/2011.13677>`_: the online
    projection map of one view goes through a 1×1-conv predictor, then each
    predicted location is matched to the target projection map of another
    view (detached; the sizes may differ) by :func:`emd_similarity`::

        loss = loss_weight * (2 - 2 * mean_b S_EMD),
        S_EMD = sum_ij P_ij cos(p_i, z_j)

    BYOL's ``2 - 2 cos`` for 1×1 maps. The solver's defaults are
    :data:`~mmselfemd.models.utils.EMD_DEFAULTS`, shared with
    :func:`emd_similarity` and :func:`sinkhorn`. What is the paper's and
    what is ours: ``docs/en/advanced_guides/model.md``; the solver:
    ``docs/en/advanced_guides/emd.md``.

    Args:
        predictor (dict | nn.Module): Config of the predictor (or the
            module), e.g.
            ``dict(type='SpatialBYOLNeck', in_channels=256,
            hid_channels=4096, out_channels=256)``.
        weights (str): Node weights, ``'cross_reference'`` (DeepEMD) or
            ``'uniform'``. Defaults to ``'cross_reference'``.
        eps (float): Entropic regularisation ε, in the units of
            ``eps_mode``. Defaults to 0.1.
        num_iters (int): Sinkhorn iterations at the target ε (after the
            ε-scaling stages). Defaults to 30.
        grad (str): ``'envelope'`` (plan detached) or ``'unrolled'``
            (back-propagate through the iterations). Defaults to
            ``'envelope'``.
        tol (float, optional): Early-stopping tolerance of the solver;
            None runs the fixed number of iterations. Defaults to None.
        solver_cfg (dict, optional): Further keyword arguments of
            :func:`~mmselfemd.models.utils.sinkhorn` (``eps_start``,
            ``eps_decay``, ``anneal_iters``, ``omega``, ``check_every``).
            Defaults to None.
        solver (str): ``'sinkhorn'`` (entropic) or ``'exact'`` (POT's
            network simplex on the CPU, plan used as a constant).
            Defaults to ``'sinkhorn'``.
        eps_mode (str): ``'std'`` (ε times the RMS of each problem's doubly
            centred cost), ``'absolute'`` (ε on the cost ``1 - cos`` in
            [0, 2]) or ``'relative'`` (ε times each problem's cost range).
            Defaults to ``'std'``.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
        diagnostics (bool | str): Whether :meth:`loss_pairs` can report the
            transport-plan diagnostics; ``'exact'`` also solves every
            problem exactly (POT, on the CPU) for ``exact_matching_gain``
            and ``gain_ratio``. Defaults to True.
        init_cfg (dict or list[dict], optional): Initialization config.
            Defaults to None.
    """

    def __init__(self,
                 predictor: Union[dict, nn.Module],
                 weights: str = EMD_DEFAULTS.weights,
                 eps: float = EMD_DEFAULTS.eps,
                 num_iters: int = EMD_DEFAULTS.num_iters,
                 grad: str = EMD_DEFAULTS.grad,
                 tol: Optional[float] = None,
                 solver_cfg: Optional[dict] = None,
                 solver: str = EMD_DEFAULTS.solver,
                 eps_mode: str = EMD_DEFAULTS.eps_mode,
                 loss_weight: float = 1.0,
                 diagnostics: Union[bool, str] = True,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        # fail at build time, not at the first step
        check_emd_options(weights, grad, solver, eps_mode)
        if diagnostics not in (True, False, 'exact'):
            raise ValueError("diagnostics must be True, False or 'exact', "
                             f'got {diagnostics!r}')
        self.predictor = (
            predictor
            if isinstance(predictor, nn.Module) else MODELS.build(predictor))
        self.weights = weights
        self.eps = eps
        self.num_iters = num_iters
        self.grad = grad
        self.tol = tol
        self.solver_cfg = dict(solver_cfg or {})
        self.solver = solver
        self.eps_mode = eps_mode
        self.loss_weight = loss_weight
        self.diagnostics = diagnostics

    def predict(self, online: torch.Tensor) -> torch.Tensor:
        """Apply the predictor to an online projection map.

        Args:
            online (torch.Tensor): (B, C, H, W) online projection.

        Returns:
            torch.Tensor: (B, C', H, W) prediction.
        """
        return self.predictor((online, ))[0]

    def similarity(self,
                   pred: torch.Tensor,
                   target: torch.Tensor,
                   return_plan: bool = False
                   ) -> Union[torch.Tensor, EMDResult]:
        """EMD similarity between a prediction map and a target map.

        Args:
            pred (torch.Tensor): (B, C, H, W) predicted map.
            target (torch.Tensor): (B, C, H', W') target map; detached.
            return_plan (bool): Return the :class:`EMDResult` (plans,
                cosines, marginals) instead of the similarities alone.
                Defaults to False.

        Returns:
            torch.Tensor | EMDResult: (B,) similarities
            ``sum_ij P_ij cos_ij``, or the :class:`EMDResult`.
        """
        x = pred.flatten(2).transpose(1, 2)
        y = target.detach().flatten(2).transpose(1, 2)
        return emd_similarity(
            x,
            y,
            weights=self.weights,
            eps=self.eps,
            num_iters=self.num_iters,
            grad=self.grad,
            tol=self.tol,
            solver=self.solver,
            eps_mode=self.eps_mode,
            return_plan=return_plan,
            **self.solver_cfg)

    def loss(self, online: torch.Tensor,
             target: torch.Tensor) -> torch.Tensor:
        """EMD loss of one online view against one target view.

        Args:
            online (torch.Tensor): (B, C, H, W) online projection (the
                neck's output, before the predictor).
            target (torch.Tensor): (B, C, H', W') target projection of
                another view.

        Returns:
            torch.Tensor: Scalar ``loss_weight * (2 - 2 * mean_b S_EMD)``.
        """
        return self.loss_pairs([online], [target], [(0, 0)])

    def loss_pairs(
        self,
        online: Sequence[torch.Tensor],
        target: Sequence[torch.Tensor],
        pairs: Sequence[Tuple[int, int]],
        return_diagnostics: bool = False
    ) -> Union[torch.Tensor, Tuple[torch.Tensor, Dict[str, torch.Tensor]]]:
        """EMD loss averaged over several (online, target) pairs.

        Each online map goes through the predictor once, however many
        targets it is matched to. Pairs whose maps have the same sizes are
        solved in one batched Sinkhorn call.

        With ``return_diagnostics=True`` (and ``diagnostics`` on) it also
        returns the transport-plan diagnostics of
        :func:`~mmselfemd.models.utils.transport_diagnostics`
        (``entropy_ratio``, ``matching_gain``, ``marginal_err``; with
        ``diagnostics='exact'`` also ``exact_matching_gain`` and
        ``gain_ratio``, the mean matching gain over the exact plan's),
        averaged over the same pairs and samples as the loss, without
        gradient.

        Args:
            online (Sequence[torch.Tensor]): Online projections, each
                (B, C, H, W).
            target (Sequence[torch.Tensor]): Target projections, each
                (B, C, H', W').
            pairs (Sequence[tuple[int, int]]): ``(i, j)`` matches
                ``online[i]`` to ``target[j]``.
            return_diagnostics (bool): Also return the diagnostics.
                Defaults to False.

        Returns:
            torch.Tensor | tuple[torch.Tensor, dict]: Scalar
            ``loss_weight * (2 - 2 * mean S_EMD)``, the mean taken over
            pairs and samples; with ``return_diagnostics``, also a dict of
            scalar diagnostics (empty when ``diagnostics=False``).
        """
        if len(pairs) == 0:
            raise ValueError('loss_pairs needs at least one pair')
        used = sorted({i for i, _ in pairs})
        preds = {i: self.predict(online[i]) for i in used}
        groups: Dict[tuple, List[Tuple[int, int]]] = {}
        for i, j in pairs:
            key = (tuple(preds[i].shape), tuple(target[j].shape))
            groups.setdefault(key, []).append((i, j))
        want_diag = return_diagnostics and self.diagnostics
        sims, diags = [], []
        for group in groups.values():
            x = torch.cat([preds[i] for i, _ in group])
            y = torch.cat([target[j] for _, j in group])
            if want_diag:
                res = self.similarity(x, y, return_plan=True)
                sims.append(res.similarity)
                diags.append(
                    transport_diagnostics(
                        res.plan, res.cos, res.a, res.b,
                        exact=self.diagnostics == 'exact'))
            else:
                sims.append(self.similarity(x, y))
        loss = self.loss_weight * (2 - 2 * torch.cat(sims).mean())
        if not return_diagnostics:
            return loss
        return loss, _mean_diagnostics(diags)
