# Copyright (c) mmselfemd contributors. All rights reserved.
"""Behavioural tests of the EMD core (cost, node weights, Sinkhorn, EMD)."""
import pytest
import torch
import torch.nn.functional as F

from mmselfemd.models.utils import (
    cosine_cost,
    cross_reference_weights,
    emd_similarity,
    eps_schedule,
    sinkhorn,
    uniform_weights,
)

pytestmark = pytest.mark.usefixtures('one_thread')


def _feats(b, n, c, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, n, c, generator=g, dtype=dtype)


def _matched(b, n, m, c, seed=0, noise=1.0, dtype=torch.float32):
    """Two node sets where y re-uses x's nodes in another order + noise."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, n, c, generator=g, dtype=dtype)
    idx = torch.randint(0, n, (m, ), generator=g)
    y = x[:, idx] + noise * torch.randn(b, m, c, generator=g, dtype=dtype)
    return x, y


def _random_weights(b, n, seed):
    g = torch.Generator().manual_seed(seed)
    w = torch.rand(b, n, generator=g, dtype=torch.float64) + 0.05
    return w / w.sum(1, keepdim=True)


def _row_col_l1(plan, a, b):
    rows = (plan.sum(2) - a).abs().sum(1).max().item()
    cols = (plan.sum(1) - b).abs().sum(1).max().item()
    return rows, cols


# ----------------------------------------------------------------- cost ----


def test_cosine_cost():
    x, y = _feats(3, 5, 8, 0), _feats(3, 7, 8, 1)
    cost = cosine_cost(x, y)
    assert cost.shape == (3, 5, 7)
    ref = 1 - F.cosine_similarity(x[:, :, None], y[:, None], dim=-1)
    torch.testing.assert_close(cost, ref, atol=1e-6, rtol=0)
    assert cost.min() >= 0 and cost.max() <= 2
    # Invariant to the scale of the nodes.
    torch.testing.assert_close(cosine_cost(3 * x, 0.1 * y), cost)
    with pytest.raises(ValueError):
        cosine_cost(x, y[..., :4])


# --------------------------------------------------------- node weights ----


def test_uniform_weights():
    w = uniform_weights(_feats(2, 6, 3))
    assert w.shape == (2, 6) and w.dtype == torch.float32
    torch.testing.assert_close(w, torch.full((2, 6), 1 / 6))
    assert uniform_weights(_feats(1, 4, 3, dtype=torch.float64)).dtype \
        == torch.float64


def test_cross_reference_weights():
    x, y = _feats(2, 6, 4, 0), _feats(2, 5, 4, 1)
    x.requires_grad_()
    w = cross_reference_weights(x, y)
    assert w.shape == (2, 6)
    torch.testing.assert_close(w.sum(1), torch.ones(2))
    assert (w > 0).all() and not w.requires_grad
    # DeepEMD's formula by hand, on raw and on normalised nodes.
    for normalize in (False, True):
        xx = F.normalize(x, dim=-1) if normalize else x
        yy = F.normalize(y, dim=-1) if normalize else y
        s = (xx * yy.mean(1, keepdim=True)).sum(-1).clamp(min=0) + 1e-3
        ref = (s / s.sum(1, keepdim=True)).detach()
        torch.testing.assert_close(
            cross_reference_weights(x, y, normalize=normalize), ref)
    # A node opposite to the other view's mean gets (almost) no mass.
    x2 = torch.stack([y.mean(1), -y.mean(1)], dim=1)
    w2 = cross_reference_weights(x2, y)
    assert (w2[:, 1] < 1e-2).all() and (w2[:, 0] > 0.99).all()
    # Scale invariant by default; gradient only when asked.
    torch.testing.assert_close(cross_reference_weights(1e3 * x, y), w)
    wg = cross_reference_weights(x, y, detach=False)
    assert wg.requires_grad
    wg[:, 0].sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


# ------------------------------------------------------------- sinkhorn ----


def test_eps_schedule():
    assert eps_schedule(0.05, 1.0, 0.5) == [1.0, 0.5, 0.25, 0.125, 0.0625,
                                             0.05]
    assert eps_schedule(0.05, None, 0.5) == [0.05]
    assert eps_schedule(0.05, 0.05, 0.5) == [0.05]


@pytest.mark.parametrize('n,m', [(7, 7), (5, 9)])
@pytest.mark.parametrize('weights', ['uniform', 'random'])
def test_sinkhorn_marginals(n, m, weights):
    x, y = _matched(4, n, m, 8, seed=n + m)
    cost = cosine_cost(x, y)
    if weights == 'uniform':
        a, b = uniform_weights(x), uniform_weights(y)
    else:
        a = _random_weights(4, n, 1).float()
        b = _random_weights(4, m, 2).float()
    # With a tolerance: columns exact, rows within tol.
    tol = 1e-5
    plan = sinkhorn(cost, a, b, eps=0.05, num_iters=5000, tol=tol)
    assert plan.shape == (4, n, m) and plan.dtype == torch.float32
    assert (plan >= 0).all()
    rows, cols = _row_col_l1(plan, a, b)
    assert rows <= tol + 1e-6 and cols <= 1e-5
    # Fixed iterations: the last update makes the rows exact.
    plan = sinkhorn(cost, a, b, eps=0.05, num_iters=20)
    rows, _ = _row_col_l1(plan, a, b)
    assert rows <= 1e-5 and (plan >= 0).all()


def test_sinkhorn_tol_stops_early():
    x, y = _matched(4, 9, 9, 8, seed=3)
    cost = cosine_cost(x, y)
    a = _random_weights(4, 9, 3).float()
    b = _random_weights(4, 9, 4).float()
    kwargs = dict(eps=0.02, num_iters=5000, eps_start=None, check_every=1)
    loose = sinkhorn(cost, a, b, tol=1e-2, **kwargs)
    rows, cols = _row_col_l1(loose, a, b)
    assert rows <= 1e-2 and cols <= 1e-5
    # It stopped long before convergence: 5000 iterations get far closer.
    assert rows > 1e-4
    tight = sinkhorn(cost, a, b, tol=1e-6, **kwargs)
    rows, cols = _row_col_l1(tight, a, b)
    assert rows <= 1e-6 and cols <= 1e-5


def test_sinkhorn_batched_equals_per_sample():
    x, y = _matched(6, 8, 11, 16, seed=5)
    cost = cosine_cost(x, y)
    a, b = cross_reference_weights(x, y), cross_reference_weights(y, x)
    plan = sinkhorn(cost, a, b, eps=0.02, num_iters=40)
    for i in range(6):
        one = sinkhorn(cost[i:i + 1], a[i:i + 1], b[i:i + 1], eps=0.02,
                       num_iters=40)
        torch.testing.assert_close(plan[i:i + 1], one, atol=1e-7, rtol=1e-5)


@pytest.mark.parametrize('n,m', [(9, 9), (49, 49), (9, 49)])
@pytest.mark.parametrize('weights', ['uniform', 'random', 'cross_reference'])
def test_sinkhorn_vs_exact_emd(n, m, weights):
    """Converged Sinkhorn cost is within 1 % of the exact EMD at ε=0.01,
    and its error shrinks monotonically as ε goes 0.1 → 0.05 → 0.01."""
    ot = pytest.importorskip('ot')
    num = 6
    x, y = _feats(num, n, 16, n, torch.float64), \
        _feats(num, m, 16, m + 1, torch.float64)
    cost = cosine_cost(x, y)
    if weights == 'uniform':
        a, b = uniform_weights(x), uniform_weights(y)
    elif weights == 'random':
        a, b = _random_weights(num, n, 7), _random_weights(num, m, 8)
    else:
        a, b = cross_reference_weights(x, y), cross_reference_weights(y, x)
    exact = torch.tensor([
        ot.emd2(a[i].numpy(), b[i].numpy(), cost[i].numpy())
        for i in range(num)
    ], dtype=torch.float64)
    assert (exact > 0.1).all()  # a relative error is meaningful
    errors = []
    for eps in (0.1, 0.05, 0.01):
        # Converged: at most 1e-4 of the mass misplaced, which moves the
        # cost by at most 2e-4 (costs lie in [0, 2]), 0.2 % of the EMD.
        # (Sinkhorn converges sublinearly on assignment-like problems.)
        plan = sinkhorn(cost, a, b, eps=eps, num_iters=20000, tol=1e-4)
        rows, cols = _row_col_l1(plan, a, b)
        assert rows <= 1e-4 and cols <= 1e-12
        value = (plan * cost).sum((1, 2))
        # A feasible plan never costs less than the optimum.
        assert (value >= exact - 2e-4).all()
        errors.append((value - exact) / exact)
    assert (errors[2] <= 0.01).all(), errors[2]
    assert (errors[0] > errors[1]).all() and (errors[1] > errors[2]).all()


def test_sinkhorn_float32_under_autocast():
    x, y = _matched(3, 6, 6, 8, seed=9)
    cost = cosine_cost(x, y)
    a, b = uniform_weights(x), uniform_weights(y)
    for dtype in (torch.float16, torch.bfloat16):
        c, a_, b_ = cost.to(dtype), a.to(dtype), b.to(dtype)
        with torch.autocast('cpu', dtype=dtype):
            plan = sinkhorn(c, a_, b_, eps=0.05, num_iters=30)
        assert plan.dtype == torch.float32
        # The same float32 computation on the rounded inputs.
        ref = sinkhorn(c.float(), a_.float(), b_.float(), eps=0.05,
                       num_iters=30)
        torch.testing.assert_close(plan, ref, atol=1e-7, rtol=1e-5)
        assert (plan.sum(2) - a_.float()).abs().max() < 1e-6


def test_sinkhorn_invalid_args():
    cost = torch.rand(2, 3, 4)
    a, b = torch.full((2, 3), 1 / 3), torch.full((2, 4), 1 / 4)
    with pytest.raises(ValueError):
        sinkhorn(cost, b, a)
    with pytest.raises(ValueError):
        sinkhorn(cost, a, b, eps=0)
    with pytest.raises(ValueError):
        sinkhorn(cost, a, b, omega=2.0)


# ------------------------------------------------------- emd similarity ----


@pytest.mark.parametrize('weights', ['uniform', 'cross_reference'])
def test_permutation_equivariance(weights):
    x, y = _matched(3, 8, 10, 16, seed=11)
    perm = torch.randperm(10, generator=torch.Generator().manual_seed(0))
    cost, cost_p = cosine_cost(x, y), cosine_cost(x, y[:, perm])
    if weights == 'uniform':
        a, b, b_p = uniform_weights(x), uniform_weights(y), uniform_weights(
            y[:, perm])
    else:
        a = cross_reference_weights(x, y)
        b = cross_reference_weights(y, x)
        b_p = cross_reference_weights(y[:, perm], x)
        torch.testing.assert_close(b_p, b[:, perm])
    plan = sinkhorn(cost, a, b, eps=0.05, num_iters=50)
    plan_p = sinkhorn(cost_p, a, b_p, eps=0.05, num_iters=50)
    torch.testing.assert_close(plan_p, plan[:, :, perm], atol=1e-7,
                               rtol=1e-4)
    s = emd_similarity(x, y, weights=weights)
    torch.testing.assert_close(emd_similarity(x, y[:, perm], weights=weights),
                               s)
    perm_x = torch.randperm(8, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(emd_similarity(x[:, perm_x], y,
                                              weights=weights), s)


def test_identical_and_orthogonal():
    x = _feats(4, 49, 256, 0)
    s = emd_similarity(x, x.clone(), weights='uniform')
    assert s.shape == (4, ) and s.dtype == torch.float32
    assert (s > 0.999).all() and (s <= 1 + 1e-5).all()
    # Orthogonal node sets: x in the first 8 dims, y in the last 8.
    x8, y8 = _feats(4, 9, 8, 1), _feats(4, 12, 8, 2)
    zeros = torch.zeros(4, 9, 8)
    xo = torch.cat([x8, zeros], dim=-1)
    yo = torch.cat([zeros[:, :1].expand(4, 12, 8), y8], dim=-1)
    for weights in ('uniform', 'cross_reference'):
        so = emd_similarity(xo, yo, weights=weights)
        assert so.abs().max() < 1e-6
    # Unrelated random nodes lie in between.
    sr = emd_similarity(x, _feats(4, 49, 256, 3), weights='uniform')
    assert (sr > 0.05).all() and (sr < 0.3).all()


def test_one_node_is_cosine():
    x, y = _feats(5, 1, 16, 0), _feats(5, 1, 16, 1)
    for weights in ('uniform', 'cross_reference'):
        s = emd_similarity(x, y, weights=weights)
        torch.testing.assert_close(s, F.cosine_similarity(x[:, 0], y[:, 0]))


def test_emd_similarity_matches_plan():
    x, y = _matched(3, 6, 8, 16, seed=4)
    a, b = cross_reference_weights(x, y), cross_reference_weights(y, x)
    plan = sinkhorn(cosine_cost(x, y), a, b, eps=0.05, num_iters=30)
    ref = (plan * (1 - cosine_cost(x, y))).sum((1, 2))
    absolute = dict(eps=0.05, num_iters=30, eps_mode='absolute')
    torch.testing.assert_close(emd_similarity(x, y, **absolute), ref)
    torch.testing.assert_close(
        emd_similarity(x, y, weights=(a, b), **absolute), ref)
    with pytest.raises(ValueError):
        emd_similarity(x, y, weights='max')
    with pytest.raises(ValueError):
        emd_similarity(x, y, grad='implicit')


# ------------------------------------------------------------ gradients ----

_CONVERGED = dict(num_iters=100000, tol=1e-13, check_every=5)


def _entropic_similarity(x, y, a, b, eps):
    """S_ε = Σ P cos + ε H(P) at the optimal plan, H = -Σ P (log P - 1)."""
    plan = sinkhorn(cosine_cost(x, y), a, b, eps=eps, **_CONVERGED)
    cos = 1 - cosine_cost(x, y)
    ent = -(plan * (plan.clamp_min(1e-300).log() - 1)).sum((1, 2))
    return (plan * cos).sum((1, 2)) + eps * ent


def _plain_similarity(x, y, a, b, eps):
    plan = sinkhorn(cosine_cost(x, y), a, b, eps=eps, **_CONVERGED)
    return (plan * (1 - cosine_cost(x, y))).sum((1, 2))


def _finite_diff(fn, x, y, h=1e-6):
    """Central differences of fn(x, y).sum() w.r.t. x and y."""
    grads = []
    for t in (x, y):
        g = torch.zeros_like(t)
        flat, gflat = t.view(-1), g.view(-1)
        for k in range(flat.numel()):
            old = flat[k].item()
            flat[k] = old + h
            up = fn(x, y).sum().item()
            flat[k] = old - h
            down = fn(x, y).sum().item()
            flat[k] = old
            gflat[k] = (up - down) / (2 * h)
        grads.append(g)
    return grads


def _autograd(x, y, **kwargs):
    x, y = x.clone().requires_grad_(), y.clone().requires_grad_()
    emd_similarity(x, y, **kwargs).sum().backward()
    return x.grad, y.grad


@pytest.mark.parametrize('weights', ['uniform', 'random'])
def test_envelope_gradient_finite_differences(weights):
    """The envelope gradient is the exact gradient of S_ε (Danskin)."""
    eps = 0.1
    x, y = _matched(2, 3, 4, 3, seed=1, dtype=torch.float64)
    if weights == 'uniform':
        a, b = uniform_weights(x), uniform_weights(y)
    else:
        a, b = _random_weights(2, 3, 1), _random_weights(2, 4, 2)
    gx, gy = _autograd(x, y, weights=(a, b), eps=eps, grad='envelope',
                       eps_mode='absolute', **_CONVERGED)
    fx, fy = _finite_diff(lambda u, v: _entropic_similarity(u, v, a, b, eps),
                          x, y)
    torch.testing.assert_close(gx, fx, atol=1e-7, rtol=1e-5)
    torch.testing.assert_close(gy, fy, atol=1e-7, rtol=1e-5)
    # The check can fail: the gradient of Σ P cos itself is different.
    px, py = _finite_diff(lambda u, v: _plain_similarity(u, v, a, b, eps),
                          x, y)
    assert (gx - px).abs().max() > 1e-3


@pytest.mark.parametrize('eps_mode', ['absolute', 'std'])
@pytest.mark.parametrize('weights', ['uniform', 'random'])
def test_unrolled_gradcheck(weights, eps_mode):
    """Back-propagation through the iterations is the exact derivative of
    the fixed-iteration solver (with ε-scaling and over-relaxation), and
    of the rescaling of the cost in the 'std' mode."""
    x, y = _matched(2, 3, 4, 3, seed=2, dtype=torch.float64)
    x.requires_grad_()
    y.requires_grad_()
    if weights == 'random':  # fixed marginals (weights carry no gradient)
        weights = (_random_weights(2, 3, 5), _random_weights(2, 4, 6))
    assert torch.autograd.gradcheck(
        lambda u, v: emd_similarity(u, v, weights=weights, eps=0.1,
                                    num_iters=10, grad='unrolled',
                                    eps_mode=eps_mode), (x, y))


def test_unrolled_gradient_converged_finite_differences():
    eps = 0.1
    x, y = _matched(2, 3, 4, 3, seed=3, dtype=torch.float64)
    a, b = _random_weights(2, 3, 3), _random_weights(2, 4, 4)
    gx, gy = _autograd(x, y, weights=(a, b), eps=eps, grad='unrolled',
                       num_iters=1000, eps_mode='absolute')
    fx, fy = _finite_diff(lambda u, v: _plain_similarity(u, v, a, b, eps),
                          x, y)
    torch.testing.assert_close(gx, fx, atol=1e-7, rtol=1e-5)
    torch.testing.assert_close(gy, fy, atol=1e-7, rtol=1e-5)


def test_weights_carry_no_gradient():
    x, y = _matched(2, 5, 6, 8, seed=6)
    a, b = cross_reference_weights(x, y), cross_reference_weights(y, x)
    g1 = _autograd(x, y, weights='cross_reference')
    g2 = _autograd(x, y, weights=(a, b))
    for u, v in zip(g1, g2):
        torch.testing.assert_close(u, v)


# ----------------------------------------------------------- robustness ----


def _robust_inputs(case):
    x, y = _matched(3, 9, 9, 16, seed=7)
    if case == 'zero_nodes':
        x[:, :3] = 0
        y[:, 4:] = 0
    elif case == 'all_zero':
        x, y = torch.zeros_like(x), torch.zeros_like(y)
    elif case == 'identical':
        y = x.clone()
    elif case == 'identical_nodes':  # every node the same vector
        x = x[:, :1].expand_as(x).clone()
        y = x.clone()
    elif case == 'norm_1e4':
        x, y = 1e4 * F.normalize(x, dim=-1), 1e4 * F.normalize(y, dim=-1)
    elif case == 'norm_1e-4':
        x, y = 1e-4 * F.normalize(x, dim=-1), 1e-4 * F.normalize(y, dim=-1)
    elif case == 'one_node':
        x, y = x[:, :1], y[:, :1]
    elif case == 'one_vs_many':
        x = x[:, :1]
    elif case == 'n_ne_m':
        y = torch.cat([y, y[:, :4] + 1], dim=1)
    return x, y


_CASES = [
    'zero_nodes', 'all_zero', 'identical', 'identical_nodes', 'norm_1e4',
    'norm_1e-4', 'one_node', 'one_vs_many', 'n_ne_m'
]


def _check_finite(x, y, autocast_dtype=None, **kwargs):
    x = x.detach().clone().requires_grad_()
    y = y.detach().clone().requires_grad_()
    with torch.autocast('cpu', dtype=autocast_dtype or torch.bfloat16,
                        enabled=autocast_dtype is not None):
        s = emd_similarity(x, y, **kwargs)
    assert s.dtype == torch.float32
    assert torch.isfinite(s).all(), s
    assert (s.abs() <= 1 + 1e-4).all(), s
    s.sum().backward()
    assert torch.isfinite(x.grad).all() and torch.isfinite(y.grad).all()
    return s


@pytest.mark.parametrize('case', _CASES)
@pytest.mark.parametrize('weights', ['uniform', 'cross_reference'])
@pytest.mark.parametrize('grad', ['envelope', 'unrolled'])
def test_robustness(case, weights, grad):
    x, y = _robust_inputs(case)
    s = _check_finite(x, y, weights=weights, grad=grad)
    if case in ('identical', 'norm_1e4', 'norm_1e-4') \
            and weights == 'uniform':
        ref = _check_finite(*_robust_inputs('none'), weights=weights)
        if case == 'identical':
            assert (s > 0.99).all()
        else:  # scale invariant
            torch.testing.assert_close(s, ref, atol=1e-5, rtol=0)
    if case == 'all_zero':
        assert s.abs().max() < 1e-6


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
@pytest.mark.parametrize('case', ['none', 'zero_nodes', 'norm_1e4',
                                  'norm_1e-4', 'n_ne_m'])
@pytest.mark.parametrize('grad', ['envelope', 'unrolled'])
def test_robustness_autocast(dtype, case, grad):
    """Activations in fp16/bf16 produced under autocast, as in training."""
    x, y = _robust_inputs(case)
    scale = x.norm(dim=-1).max().clamp_min(1e-12)
    proj = torch.nn.Linear(16, 16)
    torch.nn.init.eye_(proj.weight)
    torch.nn.init.zeros_(proj.bias)
    with torch.autocast('cpu', dtype=dtype):
        xh, yh = proj(x / scale) * scale, proj(y / scale) * scale
    assert xh.dtype == dtype
    s = _check_finite(xh, yh, autocast_dtype=dtype, grad=grad)
    ref = emd_similarity(xh.float(), yh.float(), grad=grad)
    torch.testing.assert_close(s, ref)
    # Also the whole chain with a gradient to the layer's parameters.
    with torch.autocast('cpu', dtype=dtype):
        s = emd_similarity(proj(x / scale), proj(y / scale), grad=grad)
    s.sum().backward()
    assert torch.isfinite(proj.weight.grad).all()


@pytest.mark.parametrize('eps_mode', ['absolute', 'std'])
def test_small_eps_stays_finite(eps_mode):
    x, y = _matched(3, 49, 49, 16, seed=8)
    for eps in (1e-3, 1e-4):
        s = _check_finite(x, y, eps=eps, num_iters=20, eps_mode=eps_mode)
        assert (s > 0).all()
