# Copyright (c) mmselfemd contributors. All rights reserved.
"""The GPU check's ``emd`` section: the EMD solvers alone."""
import time

from .check_context import CheckContext
from .deadline import Deadline


def section_emd(ctx: CheckContext, deadline: Deadline) -> dict:
    """EMD solvers, forward + backward (:func:`compare_emd_solvers`).

    Ours at the settings of ``compare_emd_solvers.OURS``, geomloss and
    POT's exact solver (its time includes the copies to the host), timed
    with CUDA events after a warm-up, for each node count of the size.
    A larger node count is skipped when less than twice the last one's
    time is left.

    Args:
        ctx (CheckContext): The check's context.
        deadline (Deadline): Soft deadline.

    Returns:
        dict: The section's result (``rows``: node count, method, time,
        error, ratio to POT exact).
    """
    import torch

    from projects.benchmarks import (
        HAS_GEOMLOSS,
        HAS_POT,
        compare_emd_solvers,
        default_num_iters,
        make_emd_problem,
    )
    size = ctx.size['emd']
    notes = []
    if not HAS_POT:
        raise RuntimeError('POT (import ot) is not installed: the exact '
                           'EMD reference and its timing need it')
    if not HAS_GEOMLOSS:
        notes.append('geomloss is not installed: its rows are skipped')
    rows, skipped = [], []
    last_cost = 0.0
    for nodes in size['nodes']:
        # a larger N costs more: leave twice the last one's time
        if rows and deadline.left() < 2 * last_cost:
            skipped.append(nodes)
            continue
        t0 = time.monotonic()
        problem = make_emd_problem(size['batch'], nodes, size['channels'],
                                   str(ctx.device))
        for row in compare_emd_solvers(problem, size['repeats'],
                                       skip_pot_sinkhorn=True):
            rows.append(dict(
                nodes=row['nodes'], method=row['method'],
                time_ms=row['time'] * 1e3, error_pct=row['error'],
                ratio_to_pot_exact=row['ratio']))
        last_cost = time.monotonic() - t0
        ctx.log(f'  emd N={nodes}: {last_cost:.1f} s')
    out = dict(
        batch=size['batch'], channels=size['channels'],
        repeats=size['repeats'], weights='uniform', data='random',
        timing='CUDA events, minimum of the repeats after one warm-up'
        if ctx.cuda else 'wall clock, minimum of the repeats',
        default_num_iters=default_num_iters(),
        torch_threads=torch.get_num_threads(), rows=rows, notes=notes)
    if skipped:
        out['_status'] = 'partial'
        out['skipped_nodes'] = skipped
    return out
