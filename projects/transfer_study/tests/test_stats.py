# Copyright (c) mmselfemd contributors. All rights reserved.
"""The study statistics detect a known difference, do not detect a null
at more than the nominal rate, and their intervals cover at the nominal
rate, on simulated nested (pretraining seed > fine-tuning seed) data."""
import json
import math

import numpy as np
import pytest
from scipy import stats

from projects.transfer_study.study.stats import (
    compare,
    min_detectable_difference,
    paired,
    power,
    seed_means,
    tost,
    variance_components,
    welch,
)


def simulate(rng, mu, sigma_p, sigma_f, n_seeds, n_ft, variant):
    """Runs of a nested design: AP = mu + p_s + e_sf."""
    runs = []
    for s in range(n_seeds):
        p = rng.normal(0, sigma_p)
        for f in range(n_ft):
            runs.append(dict(variant=variant, pseed=s, fseed=f,
                             ap=mu + p + rng.normal(0, sigma_f)))
    return runs


def test_seed_means_groups_by_pretraining_seed():
    runs = [dict(pseed=1, ap=50.0), dict(pseed=0, ap=40.0),
            dict(pseed=1, ap=52.0), dict(pseed=0, ap=44.0)]
    assert seed_means(runs) == {0: 42.0, 1: 51.0}


def test_welch_matches_scipy():
    rng = np.random.default_rng(0)
    a, b = rng.normal(3, 1, 5), rng.normal(0, 2, 7)
    w = welch(a, b)
    ref = stats.ttest_ind(a, b, equal_var=False)
    assert w['p'] == pytest.approx(ref.pvalue, rel=1e-9)
    assert w['t'] == pytest.approx(ref.statistic, rel=1e-9)
    ci = ref.confidence_interval(0.95)
    assert w['ci'] == pytest.approx([ci.low, ci.high], rel=1e-9)


def test_paired_matches_scipy():
    rng = np.random.default_rng(1)
    b = rng.normal(30, 2, 6)
    a = b + rng.normal(9, 3, 6)
    r = paired(a, b, bar=10)
    ref = stats.ttest_rel(a, b)
    assert r['n'] == 6 and r['df'] == 5
    assert r['diffs'] == pytest.approx(list(a - b))
    assert r['t'] == pytest.approx(ref.statistic, rel=1e-9)
    assert r['p'] == pytest.approx(ref.pvalue, rel=1e-9)
    ci = ref.confidence_interval(0.95)
    assert r['ci'] == pytest.approx([ci.low, ci.high], rel=1e-9)
    # the one-sided tests against the bar are scipy's on a - b - bar
    above = stats.ttest_1samp(a - b - 10, 0, alternative='greater')
    below = stats.ttest_1samp(a - b - 10, 0, alternative='less')
    assert r['p_above'] == pytest.approx(above.pvalue, rel=1e-9)
    assert r['p_below'] == pytest.approx(below.pvalue, rel=1e-9)
    assert r['p_above'] + r['p_below'] == pytest.approx(1.0)


def test_paired_result_is_plain_json():
    # demo_margin.py writes the result with json.dump: plain Python
    # numbers only (the interval was np.float64 before ad7a2e9)
    r = paired(np.array([40.0, 42.5, 39.0]), np.array([30.0, 30.5, 31.0]),
               bar=10)
    assert all(type(x) is float for x in r['ci'])
    assert json.loads(json.dumps(r)) == r


def test_paired_is_not_the_unpaired_test():
    # a shared per-unit offset cancels in the pairs, not in Welch's test
    offsets = np.array([0.0, 10.0, 20.0, 30.0])
    a, b = offsets + np.array([2.1, 1.9, 2.0, 2.2]), offsets
    assert paired(a, b)['p'] < 1e-4
    assert welch(a, b)['p'] > 0.5


def test_paired_rejects_unequal_lengths_and_single_pairs():
    with pytest.raises(ValueError, match='same length'):
        paired([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match='at least 2 pairs'):
        paired([1.0], [0.0])


def test_welch_needs_two_units_per_side():
    with pytest.raises(ValueError, match='at least 2 units'):
        welch([1.0], [1.0, 2.0])


def test_known_difference_is_detected_at_the_predicted_rate():
    """Delta = 3 AP with sigma_p = sigma_f = 1 and 6 seeds x 2 fine-tunes:
    the analytic power (noncentral t) is ~0.96; the simulated detection
    rate agrees, and the CI excludes 0 in that fraction."""
    rng = np.random.default_rng(1)
    sd_unit = math.sqrt(1 + 1 / 2)
    expected = power(3.0, sd_unit, 6, 6)
    assert expected > 0.9
    hits = 0
    trials = 400
    for _ in range(trials):
        a = simulate(rng, 53.0, 1, 1, 6, 2, 'a')
        b = simulate(rng, 50.0, 1, 1, 6, 2, 'b')
        c = compare(a, b)
        hits += c['p'] < 0.05
        assert (c['p'] < 0.05) == (c['ci'][0] > 0 or c['ci'][1] < 0)
    rate = hits / trials
    assert abs(rate - expected) < 3 * math.sqrt(expected * (1 - expected) /
                                                trials) + 0.01


def test_null_is_rejected_at_most_at_the_nominal_rate():
    rng = np.random.default_rng(2)
    trials = 2000
    rejected = sum(
        compare(simulate(rng, 50, 1.7, 1.6, 4, 2, 'a'),
                simulate(rng, 50, 1.7, 1.6, 4, 2, 'b'))['p'] < 0.05
        for _ in range(trials))
    # Welch is slightly conservative at equal variances; 3 binomial sds
    assert 0.05 - 0.016 < rejected / trials < 0.05 + 0.015


def test_ci_covers_at_the_nominal_rate_unequal_variances():
    rng = np.random.default_rng(3)
    trials, covered = 2000, 0
    for _ in range(trials):
        a = simulate(rng, 51.5, 2.5, 1.0, 5, 3, 'a')
        b = simulate(rng, 50.0, 0.7, 2.0, 4, 2, 'b')
        lo, hi = compare(a, b)['ci']
        covered += lo <= 1.5 <= hi
    assert abs(covered / trials - 0.95) < 0.015


def test_min_detectable_difference_has_its_power():
    """At the MDD the simulated rejection rate is the target power (0.8),
    and the MDD matches the usual normal-theory approximation."""
    sd, n = 2.0, 4
    mdd = min_detectable_difference(sd, n, n)
    assert power(mdd, sd, n, n) == pytest.approx(0.8, abs=1e-4)
    approx = (stats.t.ppf(0.975, 2 * n - 2) + stats.t.ppf(0.8, 2 * n - 2)) \
        * sd * math.sqrt(2 / n)
    assert mdd == pytest.approx(approx, rel=0.05)
    rng = np.random.default_rng(4)
    trials = 2000
    hits = sum(
        stats.ttest_ind(rng.normal(mdd, sd, n), rng.normal(0, sd, n)).pvalue
        < 0.05 for _ in range(trials))
    assert abs(hits / trials - 0.8) < 0.03
    # more units, smaller MDD; zero spread, zero MDD
    assert min_detectable_difference(sd, 8, 8) < mdd
    assert min_detectable_difference(0.0, 4, 4) == 0.0


def test_tost_shows_equivalence_only_inside_the_margin():
    rng = np.random.default_rng(5)
    # the same method, many precise units: equivalent within 1 AP
    a, b = rng.normal(50, 0.3, 12), rng.normal(50, 0.3, 12)
    res = tost(a, b, margin=1.0)
    assert res['equivalent'] and res['bound'] < 1.0
    assert res['ci'][0] > -res['bound'] - 1e-12
    # a true difference at the margin is declared equivalent at most at
    # the nominal rate (TOST's size at the boundary is <= alpha)
    trials = 2000
    passed = sum(
        tost(rng.normal(51, 1, 6), rng.normal(50, 1, 6), 1.0)['equivalent']
        for _ in range(trials))
    assert passed / trials < 0.05 + 0.015
    # the bound reached is the margin at which the test just passes
    a, b = rng.normal(50, 1, 6), rng.normal(50, 1, 6)
    res = tost(a, b, margin=10.0)
    assert tost(a, b, margin=res['bound'] * 1.001)['equivalent']
    assert not tost(a, b, margin=res['bound'] * 0.999)['equivalent']
    with pytest.raises(ValueError, match='margin'):
        tost(a, b, margin=0.0)


def test_variance_components_recover_the_simulated_ones():
    rng = np.random.default_rng(6)
    runs = simulate(rng, 50, 1.7, 1.6, 300, 3, 'a')
    groups = {}
    for r in runs:
        groups.setdefault(r['pseed'], []).append(r['ap'])
    vc = variance_components(list(groups.values()))
    assert vc['sigma_p'] == pytest.approx(1.7, rel=0.15)
    assert vc['sigma_f'] == pytest.approx(1.6, rel=0.1)
    assert vc['p'] < 1e-6
    # no seed effect: F ~ 1, not significant
    runs = simulate(rng, 50, 0.0, 1.6, 40, 3, 'a')
    groups = {}
    for r in runs:
        groups.setdefault(r['pseed'], []).append(r['ap'])
    assert variance_components(list(groups.values()))['p'] > 0.01
    with pytest.raises(ValueError, match='2 seeds'):
        variance_components([[1.0, 2.0]])


def test_compare_reports_units_not_runs():
    """Six fine-tuning runs of one pretraining are one unit: with one seed
    per side there is nothing to test."""
    a = [dict(pseed=0, ap=50 + i) for i in range(6)]
    b = [dict(pseed=0, ap=40 + i) for i in range(6)]
    with pytest.raises(ValueError, match='at least 2 units'):
        compare(a, b)
    a += [dict(pseed=1, ap=52.0)]
    b += [dict(pseed=1, ap=41.0)]
    c = compare(a, b, margin=2.0)
    assert (c['n_a'], c['n_b']) == (2, 2)
    assert c['means_a'] == {0: 52.5, 1: 52.0}
    assert 'tost' in c and c['mdd'] > 0
