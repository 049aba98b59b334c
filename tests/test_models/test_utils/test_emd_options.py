# Copyright (c) mmselfemd contributors. All rights reserved.
"""One source of the solver's defaults: the head, emd_similarity and
sinkhorn compute the same plan when called with their defaults."""
import inspect

import pytest
import torch

from mmselfemd.models import SpatialEMDHead
from mmselfemd.models.utils import (
    EMD_DEFAULTS,
    check_emd_options,
    cosine_similarity_matrix,
    cross_reference_weights,
    emd_similarity,
    sinkhorn,
    std_cost,
)

pytestmark = pytest.mark.usefixtures('registered', 'one_thread')


def _maps(seed=0):
    g = torch.Generator().manual_seed(seed)
    pred = torch.randn(3, 8, 3, 3, generator=g)
    # the target shares the prediction's nodes, shuffled, plus noise: a
    # problem with a matching to find
    perm = torch.randperm(9, generator=g)
    target = (pred.flatten(2)[:, :, perm] +
              0.5 * torch.randn(3, 8, 9, generator=g)).view(3, 8, 3, 3)
    return pred, target


def test_head_emd_similarity_and_sinkhorn_compute_the_same_plan():
    pred, target = _maps()
    x = pred.flatten(2).transpose(1, 2)
    y = target.flatten(2).transpose(1, 2)
    head = SpatialEMDHead(predictor=torch.nn.Identity())
    by_head = head.similarity(pred, target, return_plan=True)
    by_function = emd_similarity(x, y, return_plan=True)
    cos = cosine_similarity_matrix(x, y)
    a, b = cross_reference_weights(x, y), cross_reference_weights(y, x)
    by_solver = sinkhorn(std_cost(1 - cos), a, b)
    assert torch.equal(by_head.plan, by_function.plan)
    assert torch.equal(by_function.plan, by_solver)
    assert torch.equal(by_head.similarity, by_function.similarity)
    # the check can fail: the previous defaults of the functions (eps 0.05
    # on the raw cost, 50 iterations) give another plan
    previous = sinkhorn(1 - cos, a, b, eps=0.05, num_iters=50)
    assert (previous - by_solver).abs().max() > 1e-3


def test_signatures_take_their_defaults_from_one_place():
    def defaults(fn):
        return {
            k: p.default
            for k, p in inspect.signature(fn).parameters.items()
            if p.default is not inspect.Parameter.empty
        }

    head = defaults(SpatialEMDHead.__init__)
    function = defaults(emd_similarity)
    solver = defaults(sinkhorn)
    for field in ('weights', 'eps', 'eps_mode', 'num_iters', 'grad',
                  'solver'):
        value = getattr(EMD_DEFAULTS, field)
        assert head[field] == function[field] == value, field
    assert solver['eps'] == EMD_DEFAULTS.eps
    assert solver['num_iters'] == EMD_DEFAULTS.num_iters
    # the model's default, which this refactor must not change
    assert (EMD_DEFAULTS.eps, EMD_DEFAULTS.eps_mode,
            EMD_DEFAULTS.num_iters) == (0.1, 'std', 30)


@pytest.mark.parametrize('options,match', [
    (dict(weights='argmax'), 'node weights'),
    (dict(grad='implicit'), 'gradient mode'),
    (dict(solver='lp'), 'unknown solver'),
    (dict(eps_mode='scaled'), 'unknown eps_mode'),
    (dict(solver='exact', grad='unrolled'), 'unrolled'),
])
def test_check_emd_options_rejects(options, match):
    args = dict(weights='uniform', grad='envelope', solver='sinkhorn',
                eps_mode='std')
    args.update(options)
    with pytest.raises(ValueError, match=match):
        check_emd_options(**args)
    # the head checks the same options when it is built
    with pytest.raises(ValueError, match=match):
        SpatialEMDHead(predictor=torch.nn.Identity(), **options)


def test_check_emd_options_accepts_explicit_marginals():
    marginals = (torch.full((1, 2), 0.5), torch.full((1, 3), 1 / 3))
    check_emd_options(marginals, 'envelope', 'sinkhorn', 'absolute')
