# Copyright (c) mmselfemd contributors. All rights reserved.
"""Transport-plan diagnostics, relative ε and the exact solver."""
import math

import ot
import pytest
import torch

from mmselfemd.models.utils import (
    EMDResult,
    emd_similarity,
    exact_transport_plan,
    relative_cost,
    sinkhorn,
    transport_diagnostics,
    uniform_weights,
)


def _feats(b, n, c, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, n, c, generator=g)


def test_uniform_cost_is_independent_coupling():
    """A uniform cost gives the plan a bᵀ: ratio 1, gain 0."""
    g = torch.Generator().manual_seed(0)
    a = torch.rand(3, 6, generator=g) + 0.1
    b = torch.rand(3, 9, generator=g) + 0.1
    a, b = a / a.sum(1, keepdim=True), b / b.sum(1, keepdim=True)
    cost = torch.full((3, 6, 9), 0.7)
    plan = sinkhorn(cost, a, b, eps=0.05, num_iters=50)
    cos = torch.randn(3, 6, 9, generator=g).clamp(-1, 1)
    d = transport_diagnostics(plan, cos, a, b)
    torch.testing.assert_close(d['entropy_ratio'], torch.ones(3),
                               atol=1e-5, rtol=0)
    torch.testing.assert_close(d['matching_gain'], torch.zeros(3),
                               atol=1e-5, rtol=0)
    assert d['marginal_err'].max() < 1e-5


def test_permuted_copy_gives_clear_gain():
    """Two maps whose nodes are a permutation of each other: a sharp plan
    matches them (ratio near 1/2, large gain); a huge ε does not."""
    x = _feats(4, 16, 32)
    perm = torch.randperm(16, generator=torch.Generator().manual_seed(1))
    y = x[:, perm]
    sharp = emd_similarity(x, y, weights='uniform', eps=0.01,
                           num_iters=200, return_plan=True)
    d = transport_diagnostics(sharp.plan, sharp.cos, sharp.a, sharp.b)
    assert (d['matching_gain'] > 0.5).all()
    assert (d['entropy_ratio'] < 0.6).all()
    assert (d['entropy_ratio'] >= 0.5 - 1e-4).all()
    blunt = emd_similarity(x, y, weights='uniform', eps=100.,
                           num_iters=50, return_plan=True)
    d2 = transport_diagnostics(blunt.plan, blunt.cos, blunt.a, blunt.b)
    assert (d2['matching_gain'].abs() < 0.01).all()
    assert (d2['entropy_ratio'] > 0.99).all()


def test_marginal_error_measures_truncation():
    x, y = _feats(2, 25, 16, 0), _feats(2, 25, 16, 1)
    a, b = uniform_weights(x), uniform_weights(y)
    from mmselfemd.models.utils import cosine_similarity_matrix
    cos = cosine_similarity_matrix(x, y)
    short = sinkhorn(1 - cos, a, b, eps=0.01, num_iters=1, eps_start=None)
    long = sinkhorn(1 - cos, a, b, eps=0.01, num_iters=500)
    e_short = transport_diagnostics(short, cos, a, b)['marginal_err']
    e_long = transport_diagnostics(long, cos, a, b)['marginal_err']
    assert (e_short > 0.05).all()
    assert (e_long < 1e-3).all()


def test_return_plan_matches_similarity():
    x, y = _feats(3, 9, 8, 0), _feats(3, 4, 8, 1)
    res = emd_similarity(x, y, return_plan=True)
    assert isinstance(res, EMDResult)
    torch.testing.assert_close(res.similarity, emd_similarity(x, y))
    torch.testing.assert_close(res.similarity,
                               (res.plan * res.cos).sum((1, 2)))
    assert res.plan.shape == (3, 9, 4)


def test_relative_cost_range_and_eps_equivalence():
    """ε relative to the spread == absolute ε × spread on the raw cost."""
    x, y = _feats(2, 9, 8, 0), _feats(2, 9, 8, 1)
    res = emd_similarity(x, y, weights='uniform', eps=0.1,
                         eps_mode='relative', num_iters=300,
                         return_plan=True)
    cost = 1 - res.cos
    rc = relative_cost(cost)
    assert rc.amin((1, 2)).abs().max() < 1e-6
    assert (rc.amax((1, 2)) - 1).abs().max() < 1e-6
    spread = cost.amax((1, 2)) - cost.amin((1, 2))
    for i in range(2):
        ref = sinkhorn(cost[i:i + 1], res.a[i:i + 1], res.b[i:i + 1],
                       eps=0.1 * spread[i].item(), num_iters=300)
        torch.testing.assert_close(res.plan[i:i + 1], ref, atol=2e-5,
                                   rtol=1e-3)


def test_exact_solver_matches_pot_emd2():
    x, y = _feats(3, 7, 8, 0), _feats(3, 5, 8, 1)
    res = emd_similarity(x, y, solver='exact', return_plan=True)
    for i in range(3):
        a = res.a[i].double().numpy()
        b = res.b[i].double().numpy()
        value = ot.emd2(a / a.sum(), b / b.sum(),
                        (1 - res.cos[i]).double().numpy())
        assert math.isclose(1 - res.similarity[i].item(), value,
                            abs_tol=1e-5)
    d = transport_diagnostics(res.plan, res.cos, res.a, res.b)
    assert d['marginal_err'].max() < 1e-5


def test_exact_solver_gradient_is_plan():
    x = _feats(2, 6, 8, 0).requires_grad_()
    y = _feats(2, 6, 8, 1)
    res = emd_similarity(x, y, solver='exact', weights='uniform',
                         return_plan=True)
    res.similarity.sum().backward()
    x2 = x.detach().clone().requires_grad_()
    from mmselfemd.models.utils import cosine_similarity_matrix
    (res.plan * cosine_similarity_matrix(x2, y)).sum().backward()
    torch.testing.assert_close(x.grad, x2.grad)


def test_exact_plan_is_optimal_vertex():
    """Network simplex returns a vertex: at most N + M - 1 non-zeros, and
    its cost is not above the entropic plan's."""
    x, y = _feats(2, 8, 8, 0), _feats(2, 8, 8, 1)
    a = uniform_weights(x)
    from mmselfemd.models.utils import cosine_cost
    cost = cosine_cost(x, y)
    plan = exact_transport_plan(cost, a, a)
    assert ((plan > 1e-9).sum((1, 2)) <= 15).all()
    ent = sinkhorn(cost, a, a, eps=0.05)
    assert ((plan * cost).sum((1, 2)) <=
            (ent * cost).sum((1, 2)) + 1e-6).all()


def test_invalid_solver_options():
    x = _feats(1, 4, 8)
    with pytest.raises(ValueError, match='unknown solver'):
        emd_similarity(x, x, solver='lp')
    with pytest.raises(ValueError, match='unknown eps_mode'):
        emd_similarity(x, x, eps_mode='scaled')
    with pytest.raises(ValueError, match='unrolled'):
        emd_similarity(x, x, solver='exact', grad='unrolled')
