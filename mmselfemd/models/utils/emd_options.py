# Copyright (c) mmselfemd contributors. All rights reserved.
"""Options of the EMD solver: their defaults, in one place, and their check.

:class:`~mmselfemd.models.heads.SpatialEMDHead`, :func:`emd_similarity` and
:func:`sinkhorn` take their defaults from :data:`EMD_DEFAULTS`, so the three
compute the same plan when called with their defaults. Why these values:
``docs/en/advanced_guides/emd.md``.
"""
from dataclasses import dataclass
from typing import Any

NODE_WEIGHTS = ('cross_reference', 'uniform')
GRADS = ('envelope', 'unrolled')
SOLVERS = ('sinkhorn', 'exact')
EPS_MODES = ('absolute', 'relative', 'std')


@dataclass(frozen=True)
class EMDDefaults:
    """Defaults of the EMD solver (what the model trains with).

    Attributes:
        weights (str): Node weights, DeepEMD's ``'cross_reference'``.
        eps (float): Entropic regularisation ε, in the units that
            ``eps_mode`` gives it.
        eps_mode (str): ``'std'``: ε times the RMS of each problem's doubly
            centred cost (:func:`std_cost`).
        num_iters (int): Sinkhorn iterations at the target ε, after the
            ε-scaling stages.
        grad (str): ``'envelope'``: the plan is a constant in the backward
            pass.
        solver (str): ``'sinkhorn'``, the entropic plan.
    """
    weights: str = 'cross_reference'
    eps: float = 0.1
    eps_mode: str = 'std'
    num_iters: int = 30
    grad: str = 'envelope'
    solver: str = 'sinkhorn'


EMD_DEFAULTS = EMDDefaults()


def check_emd_options(weights: Any, grad: str, solver: str,
                      eps_mode: str) -> None:
    """Check the options of :func:`emd_similarity`.

    Args:
        weights (str | tuple): A name in :data:`NODE_WEIGHTS`, or explicit
            marginals (not checked here).
        grad (str): One of :data:`GRADS`.
        solver (str): One of :data:`SOLVERS`.
        eps_mode (str): One of :data:`EPS_MODES`.

    Raises:
        ValueError: If an option is unknown, or ``solver='exact'`` is asked
            for an unrolled gradient.
    """
    if isinstance(weights, str) and weights not in NODE_WEIGHTS:
        raise ValueError(f'unknown node weights {weights!r}, expected one '
                         f'of {NODE_WEIGHTS}')
    if grad not in GRADS:
        raise ValueError(f'unknown gradient mode {grad!r}, expected one of '
                         f'{GRADS}')
    if solver not in SOLVERS:
        raise ValueError(f'unknown solver {solver!r}, expected one of '
                         f'{SOLVERS}')
    if eps_mode not in EPS_MODES:
        raise ValueError(f'unknown eps_mode {eps_mode!r}, expected one of '
                         f'{EPS_MODES}')
    if solver == 'exact' and grad == 'unrolled':
        raise ValueError("solver='exact' has no unrolled gradient; use "
                         "grad='envelope'")
