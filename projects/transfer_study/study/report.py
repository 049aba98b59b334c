# Copyright (c) mmselfemd contributors. All rights reserved.
"""The report of a transfer study: aggregates, tests, tables, pictures."""
import json
import math
import os.path as osp
from typing import Dict, List, Optional

import numpy as np

from mmselfemd.models.utils import exact_entropy_cap

from .runner import DIAG_KEYS, StudyRunner
from .stats import (
    compare,
    min_detectable_difference,
    variance_components,
)

_TITLES = dict(
    emd_entropy_ratio='plan entropy / entropy of the independent coupling',
    emd_matching_gain='matching gain S_EMD − S_independent',
    emd_gain_ratio="matching gain / exact plan's matching gain",
    node_cos='C5 node cosine (1 = spatial collapse)')


def mean_std(vals: List[float]) -> dict:
    """``mean``, sample ``std`` and ``n`` of a list (NaN where undefined)."""
    vals = [float(v) for v in vals]
    n = len(vals)
    return dict(
        mean=float(np.mean(vals)) if n else float('nan'),
        std=float(np.std(vals, ddof=1)) if n > 1 else float('nan'),
        n=n)


def fmt_mean_std(ms: dict, digits: int = 1) -> str:
    """``'32.0 ± 2.0'``, ``'32.0'`` (one value) or ``'-'`` (none)."""
    if not ms['n']:
        return '-'
    if ms['n'] == 1 or math.isnan(ms['std']):
        return f'{ms["mean"]:.{digits}f}'
    return f'{ms["mean"]:.{digits}f} ± {ms["std"]:.{digits}f}'


def spearman(variants: List[dict]) -> Optional[dict]:
    """Spearman's rho between probe accuracy and AP over variants."""
    pts = [(v['probe_bacc']['mean'], v['ap']['mean']) for v in variants
           if v['probe_bacc']['n'] and v['ap']['n']]
    if len(pts) < 3:
        return None
    from scipy.stats import spearmanr
    res = spearmanr([p[0] for p in pts], [p[1] for p in pts])
    if not np.isfinite(res.statistic):  # a constant column: no ranking
        return None
    return dict(rho=float(res.statistic), p=float(res.pvalue), n=len(pts))


class StudyReport:
    """Collects the finished runs of a :class:`StudyRunner` and writes
    ``results.json``, ``results.md``, ``results.png`` and
    ``diagnostics.png`` into its work dir.

    Statistics (:mod:`projects.transfer_study.study.stats`): the
    pretraining seed is the unit; each ``compare`` entry gets the
    difference of means with its 95 % CI (Welch), the p-value, the minimum
    detectable difference (80 % power) and, with a margin, the TOST
    equivalence test and the equivalence bound reached. Variants with
    several pretraining seeds and fine-tuning seeds get their variance
    components.
    """

    def __init__(self, runner: StudyRunner) -> None:
        self.runner = runner
        self.study = runner.study
        self.cfg = runner.cfg
        self.work_dir = runner.work_dir

    # --------------------------------------------------------- collect --
    def collect(self) -> dict:
        """Every finished run, the per-variant aggregates and the tests."""
        runs, pre = [], []
        for t in self.runner.tasks:
            if t.done:
                (pre if t.kind == 'pretrain' else runs).append(t.result())
        variants = []
        for v in self.study.variants:
            name = v['name']
            rs = [r for r in runs if r['variant'] == name]
            ps = [p for p in pre if p['variant'] == name]
            agg = dict(name=name, description=v.get('description', ''),
                       split=v['split'], n=len(rs),
                       expected=sum(1 for r in self.study.runs()
                                    if r[0] == name))
            selected = {p['selected'] for p in ps if p.get('selected')}
            if selected:
                agg['selected'] = sorted(selected)
            for key in ('ap', 'ap50', 'ap75'):
                agg[key] = mean_std([r[key] for r in rs])
            by_p: Dict[int, List[float]] = {}
            for r in rs:
                by_p.setdefault(r['pseed'], []).append(r['ap'])
            agg['ap_pseed_means'] = {
                str(k): float(np.mean(x)) for k, x in sorted(by_p.items())
            }
            if len(by_p) >= 2 and any(len(x) >= 2 for x in by_p.values()):
                agg['variance'] = variance_components(list(by_p.values()))
            agg['probe_bacc'] = mean_std(
                [100 * p['probe']['bacc'] for p in ps if p.get('probe')])
            agg['probe_node_cos'] = mean_std([
                p['probe']['node_cos'] for p in ps
                if p.get('probe') and 'node_cos' in p['probe']
            ])
            for key in DIAG_KEYS + ('time', ):
                agg[key] = mean_std(
                    [p[f'final_{key}'] for p in ps if f'final_{key}' in p])
            agg['pretrain_seconds'] = mean_std(
                [p['pretrain_seconds'] for p in ps])
            variants.append(agg)
        return dict(study=self.study.path, runs=runs,
                    pretrain=[{k: x for k, x in p.items() if k != 'curves'}
                              for p in pre],
                    variants=variants,
                    selection=self.runner.load_selection(),
                    comparisons=self.comparisons(runs, variants),
                    probe_ap_spearman=spearman(variants))

    def comparisons(self, runs: List[dict],
                    variants: List[dict]) -> List[dict]:
        by_name = {v['name']: v for v in variants}
        out = []
        for c in self.study.comparisons():
            a, b = c['a'], c['b']
            if a not in by_name or b not in by_name:
                continue
            if by_name[a]['split'] != by_name[b]['split']:
                raise ValueError(f'compare {a} with {b}: they are scored on '
                                 f'different splits ({by_name[a]["split"]}'
                                 f', {by_name[b]["split"]})')
            ra = [r for r in runs if r['variant'] == a]
            rb = [r for r in runs if r['variant'] == b]
            entry = dict(a=a, b=b, margin=c['margin'],
                         split=by_name[a]['split'])
            if len({r['pseed'] for r in ra}) < 2 or \
                    len({r['pseed'] for r in rb}) < 2:
                entry['note'] = ('fewer than 2 pretraining seeds on a side: '
                                 'no test')
                entry['diff'] = (by_name[a]['ap']['mean'] -
                                 by_name[b]['ap']['mean']
                                 if ra and rb else float('nan'))
            else:
                entry.update(compare(ra, rb, margin=c['margin']))
                for k in ('means_a', 'means_b'):
                    entry[k] = {str(s): m for s, m in entry[k].items()}
                # a study cut short: what the planned seeds would detect
                planned = [len({r[1] for r in self.study.runs()
                                if r[0] == name}) for name in (a, b)]
                if planned != [entry['n_a'], entry['n_b']]:
                    entry['planned_n'] = planned
                    entry['mdd_planned'] = min_detectable_difference(
                        entry['sd'], *planned)
            out.append(entry)
        return out

    # ----------------------------------------------------------- write --
    def write(self) -> dict:
        """Write the report files; returns the collected data."""
        data = self.collect()
        with open(osp.join(self.work_dir, 'results.json'), 'w') as f:
            json.dump(data, f, indent=1)
        with open(osp.join(self.work_dir, 'results.md'), 'w') as f:
            f.write(self.markdown(data))
        if any(v['ap']['n'] for v in data['variants']):
            self.plot(data, osp.join(self.work_dir, 'results.png'))
        curves = {
            (t.meta['variant'], t.meta['pseed']): t.result().get('curves',
                                                                 {})
            for t in self.runner.tasks if t.kind == 'pretrain' and t.done
        }
        if any(c.get(DIAG_KEYS[0]) or c.get('node_cos')
               for c in curves.values()):
            self.plot_diagnostics(curves,
                                  osp.join(self.work_dir, 'diagnostics.png'))
        return data

    def markdown(self, data: dict) -> str:
        pre, ft = self.cfg.pretrain, self.cfg.finetune
        lines = [
            f'Study `{self.study.path}`: pretraining {pre.iters} iterations '
            f'x batch {pre.batch_size} for every variant; fine-tuning '
            f'`{ft.config}` {ft.iters} iterations. Mean ± sample std over '
            'all (pretraining seed, fine-tuning seed) runs; the tests below '
            'use the pretraining seed as the unit.', '',
            '| variant | split | runs | seeds | bbox AP | AP50 | AP75 | AP '
            'per pretrain seed | node cos (train) | plan entropy ratio | '
            'matching gain | gain / exact | s/iter | description |',
            '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|'
        ]
        for v in data['variants']:
            seeds = ', '.join(f'{k}: {m:.1f}'
                              for k, m in v['ap_pseed_means'].items())
            desc = v['description']
            if v.get('selected'):
                desc += f' (settings of {", ".join(v["selected"])})'
            lines.append(
                f'| {v["name"]} | {v["split"]} | {v["n"]}/{v["expected"]} | '
                f'{len(v["ap_pseed_means"])} | {fmt_mean_std(v["ap"])} | '
                f'{fmt_mean_std(v["ap50"])} | {fmt_mean_std(v["ap75"])} | '
                f'{seeds or "-"} | {fmt_mean_std(v["node_cos"], 3)} | '
                f'{fmt_mean_std(v["emd_entropy_ratio"], 3)} | '
                f'{fmt_mean_std(v["emd_matching_gain"], 4)} | '
                f'{fmt_mean_std(v["emd_gain_ratio"], 2)} | '
                f'{fmt_mean_std(v["time"], 2)} | {desc} |')
        if data['selection']:
            lines += ['', 'Selection (decided once, `selection.json`):', '']
            for group, s in data['selection'].items():
                scores = ', '.join(f'{m} {ap:.1f}'
                                   for m, ap in s['scores'].items())
                lines.append(f'- {group}: **{s["winner"]}** ({scores}; '
                             f'rule: {s["rule"]})' +
                             (f'; {s["record"]}' if s.get('record') else ''))
        var = [v for v in data['variants'] if 'variance' in v]
        if var:
            lines += ['', 'Variance components (one-way nested ANOVA, '
                      'pretraining seed > fine-tuning seed):', '']
            for v in var:
                c = v['variance']
                lines.append(
                    f'- {v["name"]}: σ_pretrain {c["sigma_p"]:.2f} AP, '
                    f'σ_finetune {c["sigma_f"]:.2f} AP (F = {c["F"]:.2f}, '
                    f'p = {c["p"]:.3f})')
        if data['comparisons']:
            lines += ['', 'Comparisons (unit: pretraining seed; Welch t, '
                      '95 % CI; MDD: minimum detectable difference at 80 % '
                      'power; TOST at the margin fixed before the runs):',
                      '']
            for c in data['comparisons']:
                lines.append('- ' + describe_comparison(c))
        rho = data['probe_ap_spearman']
        if rho is not None:
            lines += ['', f'Spearman rank correlation between probe bacc and '
                      f'bbox AP over the variants: {rho["rho"]:.2f} '
                      f'(n = {rho["n"]}, p = {rho["p"]:.3f}).']
        return '\n'.join(lines) + '\n'

    # ---------------------------------------------------------- pictures --
    def plot(self, data: dict, out_file: str) -> None:
        """AP per variant (runs as dots, pretraining seeds told apart, axis
        from 0) and the differences with their CIs."""
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        vs = [v for v in data['variants'] if v['ap']['n']]
        tests = [c for c in data['comparisons'] if 'ci' in c]
        ncols = 2 if tests else 1
        fig, axes = plt.subplots(
            1, ncols, figsize=(max(7, 1.2 + 0.6 * len(vs)) + 5 *
                               (ncols - 1), 5.5), dpi=110, squeeze=False)
        ax = axes[0, 0]
        seeds = sorted({r['pseed'] for r in data['runs']})
        markers = 'osD^vP*Xh<>'
        cmap = plt.get_cmap('tab10')
        for i, v in enumerate(vs):
            rs = [r for r in data['runs'] if r['variant'] == v['name']]
            for r in rs:
                k = seeds.index(r['pseed'])
                ax.plot(i + 0.08 * (k - (len(seeds) - 1) / 2), r['ap'],
                        markers[k % len(markers)], color=cmap(k % 10),
                        ms=5, alpha=0.8)
            ax.hlines(v['ap']['mean'], i - 0.3, i + 0.3, color='k', lw=2)
        for k, s in enumerate(seeds):
            ax.plot([], [], markers[k % len(markers)], color=cmap(k % 10),
                    label=f'pretraining seed {s}')
        ax.set_xticks(range(len(vs)))
        ax.set_xticklabels([
            f'{v["name"]}\n{v["split"]}, n={len(v["ap_pseed_means"])}'
            f'×{v["n"] // max(1, len(v["ap_pseed_means"]))}' for v in vs
        ], rotation=30, ha='right', fontsize=8)
        ax.set_ylim(0, 100)
        ax.set_ylabel('bbox AP (COCO, %)')
        ax.set_title('AP of every run (dots), variant mean (bar)')
        ax.grid(axis='y', alpha=0.3)
        ax.legend(fontsize=7, loc='lower right')
        if tests:
            ax = axes[0, 1]
            half = max(max(abs(x) for c in tests
                           for x in c['ci'] + [c['mdd'], c['margin'] or 0]),
                       1.0) * 1.15
            for i, c in enumerate(tests):
                ax.errorbar(c['diff'], i, xerr=[[c['diff'] - c['ci'][0]],
                                                [c['ci'][1] - c['diff']]],
                            fmt='o', color='#4c72b0', capsize=5)
                ax.plot([-c['mdd'], c['mdd']], [i - 0.25] * 2, '|-',
                        color='#c44e52', lw=1)
                if c['margin']:
                    ax.plot([-c['margin'], c['margin']], [i + 0.25] * 2,
                            '|--', color='#55a868', lw=1)
            ax.axvline(0, color='k', lw=1)
            ax.plot([], [], 'o-', color='#4c72b0', label='difference, 95 % CI')
            ax.plot([], [], '|-', color='#c44e52',
                    label='± minimum detectable difference (80 % power)')
            ax.plot([], [], '|--', color='#55a868',
                    label='± equivalence margin (fixed before the runs)')
            ax.set_yticks(range(len(tests)))
            ax.set_yticklabels([
                f'{c["a"]} − {c["b"]}\n(n = {c["n_a"]} vs {c["n_b"]} seeds)'
                for c in tests
            ], fontsize=8)
            ax.set_xlim(-half, half)
            ax.set_ylim(-0.8, len(tests) - 0.2)
            ax.set_xlabel('difference in bbox AP (points)')
            ax.set_title('Differences (unit: pretraining seed)')
            ax.grid(axis='x', alpha=0.3)
            ax.legend(fontsize=7, loc='lower right')
        fig.suptitle(f'Transfer study {osp.basename(self.study.path)}')
        fig.tight_layout()
        fig.savefig(out_file)
        plt.close(fig)

    @staticmethod
    def plot_diagnostics(curves: Dict[tuple, dict],
                         out_file: str) -> List[str]:
        """Entropy ratio, matching gain (and the exact plan's), gain ratio
        and node cosine over pretraining: one colour per variant, one line
        style per pretraining seed.

        Args:
            curves: ``{(variant, pretraining seed): {key: [(iter, value)]}}``.
            out_file: Where the figure goes.

        Returns:
            The legend's labels: only variants and seeds that have a curve
            (random init has none and is left out).
        """
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        keys = [k for k in ('emd_entropy_ratio', 'emd_matching_gain',
                            'emd_gain_ratio', 'node_cos')
                if any(c.get(k) for c in curves.values())]
        curves = {vs: c for vs, c in curves.items()
                  if any(c.get(k) for k in keys)}
        fig, axes = plt.subplots(
            1, len(keys), figsize=(4.6 * len(keys), 4.6), dpi=110,
            squeeze=False)
        variants = sorted({v for v, _ in curves})
        seeds = sorted({s for _, s in curves})
        styles = ['-', '--', ':', '-.', (0, (5, 1)), (0, (1, 1))]
        cmap = plt.get_cmap('tab10' if len(variants) <= 10 else 'tab20')
        for (v, s), c in sorted(curves.items()):
            color = cmap(variants.index(v) % cmap.N)
            style = styles[seeds.index(s) % len(styles)]
            for ax, key in zip(axes[0], keys):
                pts = c.get(key) or []
                if pts:
                    ax.plot(*zip(*pts), color=color, ls=style, lw=1.1)
                if key == 'emd_matching_gain' and c.get(
                        'emd_exact_matching_gain'):
                    ax.plot(*zip(*c['emd_exact_matching_gain']),
                            color=color, ls=style, lw=0.6, alpha=0.5)
        for ax, key in zip(axes[0], keys):
            ax.set_title(_TITLES[key], fontsize=9)
            ax.set_xlabel('pretraining iteration')
            ax.set_ylabel(key)
            ax.grid(alpha=0.3)
            if key == 'emd_entropy_ratio':
                cap = exact_entropy_cap(49, 49)
                ax.axhline(cap, color='grey', lw=1, ls='--')
                ax.text(0.02, cap + 0.01, f"exact plan's cap {cap:.3f}: "
                        'a vertex has ≤ N+M−1 non-zeros\n'
                        '(7×7 maps, uniform weights)',
                        transform=ax.get_yaxis_transform(), fontsize=7)
                ax.set_ylim(0, 1.05)
            if key == 'emd_matching_gain':
                ax.text(0.02, 0.97, 'thin: exact plan on the same problems',
                        transform=ax.transAxes, fontsize=7, va='top')
            if key in ('emd_gain_ratio', 'node_cos'):
                ax.set_ylim(0, 1.05)
        for v in variants:
            axes[0, 0].plot([], [], color=cmap(variants.index(v) % cmap.N),
                            label=v)
        for s in seeds:
            axes[0, 0].plot([], [], color='k',
                            ls=styles[seeds.index(s) % len(styles)],
                            label=f'seed {s}')
        legend = axes[0, 0].legend(fontsize=7, ncol=2, loc='lower left')
        fig.tight_layout()
        fig.savefig(out_file)
        plt.close(fig)
        return [t.get_text() for t in legend.get_texts()]


def describe_comparison(c: dict) -> str:
    """One line of the report for a comparison."""
    head = f'{c["a"]} − {c["b"]} ({c["split"]})'
    if 'ci' not in c:
        if c['diff'] != c['diff']:  # NaN: a side has no finished run
            return f'{head}: no finished runs on a side yet; {c["note"]}'
        return f'{head}: {c["diff"]:+.2f} AP; {c["note"]}'
    text = (f'{head}: **{c["diff"]:+.2f} AP**, 95 % CI [{c["ci"][0]:+.2f}, '
            f'{c["ci"][1]:+.2f}], p = {c["p"]:.3f} (n = {c["n_a"]} vs '
            f'{c["n_b"]} pretraining seeds, σ of a seed mean '
            f'{c["sd"]:.2f}); MDD {c["mdd"]:.1f} AP')
    if 'planned_n' in c:
        text += (f'; **partial**: {c["n_a"]} and {c["n_b"]} of the planned '
                 f'{c["planned_n"][0]} and {c["planned_n"][1]} seeds, MDD at '
                 f'the planned n {c["mdd_planned"]:.1f} AP (from this σ)')
    if 'tost' in c:
        t = c['tost']
        verdict = 'equivalent' if t['equivalent'] else 'not shown equivalent'
        text += (f'; TOST at ±{t["margin"]:.1f}: p = {t["p"]:.3f}, '
                 f'{verdict}; equivalence bound reached ±{t["bound"]:.1f}')
    return text
