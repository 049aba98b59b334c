# Copyright (c) mmselfemd contributors. All rights reserved.
"""projects.benchmarks.compare_emd_solvers and sweep_emd_solver on tiny
problems: the rows, their errors against POT's exact EMD, the timing."""
import math

import numpy as np
import pytest

from projects.benchmarks import (
    HAS_POT,
    compare_emd_solvers,
    default_num_iters,
    make_emd_problem,
    rel_error,
    sweep_emd_solver,
)
from projects.benchmarks.compare_emd_solvers import OURS

pytestmark = pytest.mark.skipif(not HAS_POT, reason='needs POT')


def test_problem_and_exact_emd():
    p = make_emd_problem(3, 5, 8, 'cpu', seed=1)
    assert tuple(p['x'].shape) == (3, 5, 8)
    assert tuple(p['cost'].shape) == (3, 5, 5)
    np.testing.assert_allclose(p['a_np'].sum(1), 1)
    # the exact EMD is at most the cost of the independent plan
    cost = p['cost'].double().numpy()
    indep = np.einsum('bn,bm,bnm->b', p['a_np'], p['b_np'], cost)
    assert np.all(p['exact'] <= indep + 1e-9)
    again = make_emd_problem(3, 5, 8, 'cpu', seed=1)
    np.testing.assert_array_equal(p['exact'], again['exact'])


def test_rel_error():
    assert rel_error(np.array([1.1, 2.0]), np.array([1.0, 2.0])) == \
        pytest.approx(5.0)


def test_rows():
    rows = compare_emd_solvers(make_emd_problem(4, 6, 8, 'cpu'), repeats=1,
                               skip_pot_sinkhorn=True)
    methods = [r['method'] for r in rows]
    assert methods[0] == 'POT exact (ot.emd2, looped, no grad)'
    assert rows[0]['error'] == 0 and rows[0]['ratio'] == 1
    ours = [r for r in rows if r['method'].startswith('ours')]
    assert len(ours) == len(OURS)
    assert ('ours, default (ε=0.1 × std of the centred cost), '
            f'{default_num_iters()} it') in methods
    for r in ours:
        assert r['nodes'] == 6
        assert r['time'] > 0 and r['error'] >= 0
        assert r['ratio'] == pytest.approx(r['time'] / rows[0]['time'])
        assert 'entropy_ratio' in r and 'gain_ratio' in r
    # the exact solver is exact
    exact = [r for r in ours if "solver='exact'" in r['method']]
    assert exact[0]['error'] == pytest.approx(0, abs=1e-4)  # float32
    assert not any(m.startswith('POT sinkhorn') for m in methods)


def test_pot_sinkhorn_rows_are_scaled_from_a_subset():
    rows = compare_emd_solvers(make_emd_problem(4, 4, 8, 'cpu'), repeats=1,
                               slow_subset=2)
    pot = [r for r in rows if r['method'].startswith('POT sinkhorn')]
    assert len(pot) == 2
    assert all('(timed on 2, scaled)' in r['method'] for r in pot)
    assert all(math.isfinite(r['error']) for r in pot)


def test_sweep_rows():
    rows = sweep_emd_solver(make_emd_problem(2, 4, 8, 'cpu'), repeats=1)
    # 4 eps x 7 iteration counts x with / without eps-scaling
    assert len(rows) == 56
    assert {r['anneal'] for r in rows} == {'yes', 'no'}
    assert all(r['time'] > 0 and r['error'] >= 0 for r in rows)
