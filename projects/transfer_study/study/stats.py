# Copyright (c) mmselfemd contributors. All rights reserved.
"""Statistics of a transfer study: is one pretraining better than another?

A transfer study fine-tunes several detectors from each pretraining. The
fine-tuning runs of one pretraining share its backbone, so they are not
independent samples of the pretraining *method*: the **pretraining seed is
the unit**. Everything here works on per-pretraining-seed means (the mean
AP over the fine-tuning seeds of one pretraining), which for a balanced
design is the exact analysis of the two-level nested model

    AP_{s,f} = mu + p_s + e_{s,f},   p_s ~ N(0, sigma_p^2),
                                      e_{s,f} ~ N(0, sigma_f^2)

(the fine-tuning seed nested in the pretraining seed): a seed mean has
variance ``sigma_p^2 + sigma_f^2 / n_f``, and two methods are compared by
Welch's t on their seed means.

Functions:

- :func:`seed_means`: per-pretraining-seed means of a variant's runs.
- :func:`variance_components`: sigma_p and sigma_f (one-way nested ANOVA)
  and the F test of the pretraining seed.
- :func:`welch`: difference of means, its (1 - alpha) confidence interval
  and the two-sided p-value (Welch-Satterthwaite degrees of freedom).
- :func:`paired`: the mean of paired differences (e.g. the demo's
  Self-EMD minus random init, both fine-tuned with the same seed), its
  confidence interval, and one-sided tests against a bar.
- :func:`tost`: two one-sided tests for equivalence within a margin, and
  the *equivalence bound reached* (the smallest margin that would pass).
- :func:`min_detectable_difference`: the difference that a two-sided
  test at ``alpha`` detects with probability ``power`` (noncentral t).
- :func:`compare`: all of the above for variant ``a`` against ``b``.
"""
import math
from typing import Dict, Iterable, List, Mapping, Optional, Sequence

import numpy as np
from scipy import optimize, stats


def seed_means(runs: Iterable[Mapping],
               key: str = 'ap',
               unit: str = 'pseed') -> Dict[int, float]:
    """Mean of ``key`` over the runs of each pretraining seed.

    Args:
        runs (Iterable[Mapping]): Runs of one variant, each with ``unit``
            (the pretraining seed) and ``key`` (e.g. ``'ap'``).
        key (str): The metric. Defaults to ``'ap'``.
        unit (str): The field that names the unit. Defaults to
            ``'pseed'``.

    Returns:
        dict[int, float]: Seed -> mean, sorted by seed.
    """
    groups: Dict[int, List[float]] = {}
    for run in runs:
        groups.setdefault(run[unit], []).append(float(run[key]))
    return {s: float(np.mean(v)) for s, v in sorted(groups.items())}


def variance_components(groups: Sequence[Sequence[float]]) -> dict:
    """Between- and within-seed variance of a nested design.

    One-way random-effects ANOVA: ``groups[s]`` holds the fine-tuning runs
    of pretraining seed ``s``. Estimates (method of moments, truncated at
    0): ``sigma_f^2 = MS_within`` and ``sigma_p^2 = (MS_between -
    MS_within) / n0`` with ``n0`` the ANOVA's effective group size.

    Args:
        groups (Sequence[Sequence[float]]): Runs per pretraining seed; at
            least two seeds, and at least one seed with two runs.

    Returns:
        dict: ``sigma_p``, ``sigma_f`` (standard deviations), ``F``,
        ``p`` (of the test that seeds differ), ``df_between``,
        ``df_within``.
    """
    groups = [np.asarray(g, float) for g in groups if len(g)]
    k = len(groups)
    sizes = np.array([len(g) for g in groups], float)
    n = sizes.sum()
    if k < 2 or n - k < 1:
        raise ValueError('variance_components needs >= 2 seeds and a seed '
                         f'with >= 2 runs; got sizes {sizes.tolist()}')
    grand = np.concatenate(groups).mean()
    ss_b = float(sum(len(g) * (g.mean() - grand)**2 for g in groups))
    ss_w = float(sum(((g - g.mean())**2).sum() for g in groups))
    df_b, df_w = k - 1, n - k
    ms_b, ms_w = ss_b / df_b, ss_w / df_w
    n0 = (n - (sizes**2).sum() / n) / df_b
    f = ms_b / ms_w if ms_w > 0 else math.inf
    p = float(stats.f.sf(f, df_b, df_w)) if math.isfinite(f) else 0.0
    return dict(
        sigma_p=math.sqrt(max(0.0, (ms_b - ms_w) / n0)),
        sigma_f=math.sqrt(ms_w),
        F=f,
        p=p,
        df_between=df_b,
        df_within=df_w)


def _check_samples(a: Sequence[float], b: Sequence[float]):
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 2 or len(b) < 2:
        raise ValueError('each side needs at least 2 units (pretraining '
                         f'seeds); got {len(a)} and {len(b)}')
    return a, b


def welch(a: Sequence[float], b: Sequence[float],
          alpha: float = 0.05) -> dict:
    """Welch's t-test of ``mean(a) - mean(b)``.

    Args:
        a (Sequence[float]): Unit values (seed means) of the first method.
        b (Sequence[float]): Those of the second method.
        alpha (float): 1 - confidence of the interval. Defaults to 0.05.

    Returns:
        dict: ``diff``, ``se``, ``df`` (Welch-Satterthwaite), ``ci``
        (two-sided ``1 - alpha`` interval, a ``[low, high]`` list), ``t``
        and ``p`` (two-sided).
    """
    a, b = _check_samples(a, b)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    diff = float(a.mean() - b.mean())
    if se == 0:
        df = float(len(a) + len(b) - 2)
        t = 0.0 if diff == 0 else math.copysign(math.inf, diff)
        p = 1.0 if diff == 0 else 0.0
        return dict(diff=diff, se=0.0, df=df, ci=[diff, diff], t=t, p=p)
    df = (va + vb)**2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    t = diff / se
    q = stats.t.ppf(1 - alpha / 2, df)
    return dict(
        diff=diff,
        se=se,
        df=float(df),
        ci=[diff - q * se, diff + q * se],
        t=float(t),
        p=float(2 * stats.t.sf(abs(t), df)))


def paired(a: Sequence[float],
           b: Sequence[float],
           bar: Optional[float] = None,
           alpha: float = 0.05) -> dict:
    """One-sample t on the paired differences ``a[i] - b[i]``.

    Each pair is one unit (e.g. one seed of the whole demo: a pretraining
    and the two fine-tunings that share its seed), so the differences are
    independent and the paired test is exact under normality.

    Args:
        a (Sequence[float]): Values of the first arm, one per unit.
        b (Sequence[float]): Values of the second arm, in the same order.
        bar (float, optional): A value to test the mean difference
            against, one-sided both ways (e.g. the demo's 10 AP). None
            skips those tests. Defaults to None.
        alpha (float): 1 - confidence of the interval. Defaults to 0.05.

    Returns:
        dict: ``n``, ``diffs`` (list), ``mean``, ``sd`` (of one
        difference), ``se``, ``df``, ``ci`` (two-sided ``1 - alpha``
        interval), ``t`` and ``p`` (two-sided, against 0); with a bar also
        ``p_above`` (p-value of H0 ``mean <= bar``: small when the mean is
        shown above the bar) and ``p_below`` (of H0 ``mean >= bar``).
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError('paired samples need the same length, got '
                         f'{a.shape} and {b.shape}')
    if len(a) < 2:
        raise ValueError(f'need at least 2 pairs, got {len(a)}')
    d = a - b
    n, mean, sd = len(d), float(d.mean()), float(d.std(ddof=1))
    se, df = sd / math.sqrt(n), n - 1
    q = stats.t.ppf(1 - alpha / 2, df)
    if se == 0:
        t = 0.0 if mean == 0 else math.copysign(math.inf, mean)
        p = 1.0 if mean == 0 else 0.0
    else:
        t = mean / se
        p = float(2 * stats.t.sf(abs(t), df))
    out = dict(n=n, diffs=d.tolist(), mean=mean, sd=sd, se=se,
               df=float(df), ci=[float(mean - q * se), float(mean + q * se)],
               t=float(t), p=p)
    if bar is not None:
        if se == 0:
            out['p_above'] = 0.0 if mean > bar else 1.0
            out['p_below'] = 0.0 if mean < bar else 1.0
        else:
            out['p_above'] = float(stats.t.sf((mean - bar) / se, df))
            out['p_below'] = float(stats.t.cdf((mean - bar) / se, df))
    return out


def tost(a: Sequence[float],
         b: Sequence[float],
         margin: float,
         alpha: float = 0.05) -> dict:
    """Two one-sided tests: is ``|mean(a) - mean(b)| < margin``?

    Equivalence is shown at level ``alpha`` when both one-sided nulls
    ``diff <= -margin`` and ``diff >= margin`` are rejected, i.e. when the
    ``1 - 2 alpha`` confidence interval lies inside ``(-margin, margin)``
    (Schuirmann 1987). The margin must be fixed before the data are seen.

    Args:
        a (Sequence[float]): Unit values of the first method.
        b (Sequence[float]): Those of the second method.
        margin (float): Equivalence margin (> 0), in the metric's units.
        alpha (float): Level of each one-sided test. Defaults to 0.05.

    Returns:
        dict: ``margin``, ``p`` (the larger one-sided p-value),
        ``equivalent`` (``p < alpha``), ``ci`` (the ``1 - 2 alpha``
        interval) and ``bound`` (the equivalence bound reached: the
        smallest margin for which the test would pass, ``max(|low|,
        |high|)`` of that interval).
    """
    if margin <= 0:
        raise ValueError(f'margin must be positive, got {margin}')
    w = welch(a, b, alpha=2 * alpha)
    diff, se, df = w['diff'], w['se'], w['df']
    if se == 0:
        p = 0.0 if abs(diff) < margin else 1.0
    else:
        p_low = stats.t.sf((diff + margin) / se, df)  # H0: diff <= -m
        p_high = stats.t.cdf((diff - margin) / se, df)  # H0: diff >= m
        p = float(max(p_low, p_high))
    return dict(
        margin=float(margin),
        p=p,
        equivalent=bool(p < alpha),
        ci=w['ci'],
        bound=float(max(abs(w['ci'][0]), abs(w['ci'][1]))))


def power(delta: float, sd: float, n_a: int, n_b: int,
          alpha: float = 0.05) -> float:
    """Power of the two-sided two-sample t-test (equal variances).

    Args:
        delta (float): True difference of means.
        sd (float): Standard deviation of one unit.
        n_a (int): Units of the first method.
        n_b (int): Units of the second method.
        alpha (float): Level. Defaults to 0.05.

    Returns:
        float: Probability of rejecting ``diff = 0``.
    """
    df = n_a + n_b - 2
    nc = delta / (sd * math.sqrt(1 / n_a + 1 / n_b))
    q = stats.t.ppf(1 - alpha / 2, df)
    p = float(stats.nct.sf(q, df, nc) + stats.nct.cdf(-q, df, nc))
    if not math.isfinite(p):
        # scipy's noncentral t fails far in the tails (large nc), where
        # the normal approximation is exact to many digits
        p = float(stats.norm.sf(q - nc) + stats.norm.cdf(-q - nc))
    return min(1.0, p)


def min_detectable_difference(sd: float,
                              n_a: int,
                              n_b: int,
                              alpha: float = 0.05,
                              target_power: float = 0.8) -> float:
    """Smallest true difference detected with probability ``target_power``.

    For the two-sided two-sample t-test at level ``alpha`` with ``n_a`` and
    ``n_b`` units of standard deviation ``sd`` (exact, by the noncentral t
    distribution; about ``(t_{1-alpha/2} + t_{power}) sd sqrt(1/n_a +
    1/n_b)``).

    Args:
        sd (float): Standard deviation of one unit (a seed mean).
        n_a (int): Units of the first method (>= 2).
        n_b (int): Units of the second method (>= 2).
        alpha (float): Level. Defaults to 0.05.
        target_power (float): Power. Defaults to 0.8.

    Returns:
        float: The minimum detectable difference, in ``sd``'s units.
    """
    if n_a < 2 or n_b < 2:
        raise ValueError(f'need >= 2 units per side, got {n_a} and {n_b}')
    if sd <= 0:
        return 0.0
    hi = 4 * sd * math.sqrt(1 / n_a + 1 / n_b)
    while power(hi, sd, n_a, n_b, alpha) < target_power:
        hi *= 2
    return float(
        optimize.brentq(
            lambda d: power(d, sd, n_a, n_b, alpha) - target_power,
            0.0,
            hi,
            xtol=1e-6 * sd))


def compare(runs_a: Iterable[Mapping],
            runs_b: Iterable[Mapping],
            margin: Optional[float] = None,
            key: str = 'ap',
            alpha: float = 0.05,
            target_power: float = 0.8) -> dict:
    """Compare two variants with the pretraining seed as the unit.

    Args:
        runs_a (Iterable[Mapping]): Runs of variant a (``pseed``, ``key``).
        runs_b (Iterable[Mapping]): Runs of variant b.
        margin (float, optional): Equivalence margin of :func:`tost`, fixed
            before the runs; None skips the equivalence test.
            Defaults to None.
        key (str): The metric. Defaults to ``'ap'``.
        alpha (float): Level. Defaults to 0.05.
        target_power (float): Power of the minimum detectable difference.
            Defaults to 0.8.

    Returns:
        dict: ``n_a``, ``n_b`` (seeds), ``means_a``, ``means_b`` (seed
        means), ``diff``, ``ci``, ``p``, ``df`` (:func:`welch`), ``sd``
        (pooled standard deviation of a seed mean), ``mdd``
        (:func:`min_detectable_difference` at the study's n) and, with a
        margin, ``tost`` (:func:`tost`).
    """
    ma, mb = seed_means(runs_a, key), seed_means(runs_b, key)
    a, b = list(ma.values()), list(mb.values())
    w = welch(a, b, alpha)
    pooled = math.sqrt(((len(a) - 1) * np.var(a, ddof=1) +
                        (len(b) - 1) * np.var(b, ddof=1)) /
                       (len(a) + len(b) - 2))
    out = dict(
        n_a=len(a),
        n_b=len(b),
        means_a=ma,
        means_b=mb,
        diff=w['diff'],
        ci=w['ci'],
        p=w['p'],
        df=w['df'],
        sd=pooled,
        mdd=min_detectable_difference(pooled, len(a), len(b), alpha,
                                      target_power),
        alpha=alpha)
    if margin is not None:
        out['tost'] = tost(a, b, margin, alpha)
    return out
