# Copyright (c) mmselfemd contributors. All rights reserved.
"""The GPU check's ``step`` section: Self-EMD against BYOL."""
import time

from projects.benchmarks import (
    build_optim,
    build_step_models,
    make_batch,
    measure_steps,
    median_or_none,
    schedule_optim_cfg,
    set_max_iters,
)

from .check_context import CheckContext
from .check_settings import PRECISION_NAMES, STEP_VARIANTS
from .deadline import Deadline


def _recipe(ctx: CheckContext, model, optim_cfg: dict, best: dict,
            batch: dict) -> dict:
    """The SPC ablation recipe (+ small views) at the fastest setting."""
    import torch
    size = ctx.size['step']
    fmt = torch.channels_last if best['channels_last'] \
        else torch.contiguous_format
    model.to(memory_format=fmt)
    optim = build_optim(model, optim_cfg, best['dtype'])
    rec = measure_steps({'Self-EMD': model}, {'Self-EMD': optim},
                        {'Self-EMD': batch}, ctx.device, size['warmup'],
                        size['repeats'])['Self-EMD']
    step_s = median_or_none(rec['wall_s'])
    return dict(
        setting=f"2 x {size['img']} px + {size['small_views']} x "
        f"{size['small']} px views, {best['precision']}, "
        f"channels_last={best['channels_last']}",
        selfemd_step_s=step_s,
        selfemd_pairs_per_s=size['batch'] / step_s,
        selfemd_peak_mb=rec['peak_mb'], times_s=rec['wall_s'])


def section_step(ctx: CheckContext, deadline: Deadline) -> dict:
    """Self-EMD vs BYOL training step per precision / memory format.

    Models and optimizer (LARS) from the real configs
    (:func:`build_step_models`, :func:`build_optim`), the same two-view
    batch for both, each variant of ``STEP_VARIANTS`` timed by
    :func:`measure_steps`: median step, pairs/s, ratio, peak memory. Then
    the SPC recipe (+ small views) at the fastest AMP setting.

    Args:
        ctx (CheckContext): The check's context.
        deadline (Deadline): Soft deadline: variants that would not fit
            are skipped (status ``partial``).

    Returns:
        dict: The section's result.
    """
    import torch

    from mmselfemd.utils import register_all_modules
    register_all_modules()
    size = ctx.size['step']
    device = ctx.device
    if ctx.cuda:
        torch.backends.cudnn.benchmark = True
    optim_cfg = schedule_optim_cfg()
    set_max_iters(10**6, 'gpu_check')
    sizes = [size['img']] * 2 + [size['small']] * size['small_views']
    recipe_batch = ctx.pin(make_batch(size['batch'], sizes, 0))
    pair_batch = dict(recipe_batch, inputs=recipe_batch['inputs'][:2])
    models = build_step_models(device, depth=size['depth'])
    rows, skipped = [], []
    variants = STEP_VARIANTS['cuda' if ctx.cuda else 'cpu']
    last_cost = 0.0
    channels_last = False
    for dtype, cl in variants:
        name = PRECISION_NAMES[dtype]
        if rows and deadline.left() < 1.5 * last_cost:
            skipped.append(f'{name}, channels_last={cl}')
            continue
        t0 = time.monotonic()
        if cl != channels_last:
            fmt = torch.channels_last if cl else torch.contiguous_format
            for model in models.values():
                model.to(memory_format=fmt)
            channels_last = cl
        optims = {n: build_optim(m, optim_cfg, dtype)
                  for n, m in models.items()}
        res = measure_steps(models, optims, {n: pair_batch for n in models},
                            device, size['warmup'], size['repeats'])
        times = {n: r['wall_s'] for n, r in res.items()}
        med = {n: median_or_none(t) for n, t in times.items()}
        paired = median_or_none(
            [a / b for a, b in zip(times['Self-EMD'], times['BYOL'])])
        rows.append(dict(
            precision=name, dtype=dtype or 'float32', channels_last=cl,
            selfemd_step_s=med['Self-EMD'], byol_step_s=med['BYOL'],
            ratio=med['Self-EMD'] / med['BYOL'], paired_ratio=paired,
            selfemd_pairs_per_s=size['batch'] / med['Self-EMD'],
            byol_pairs_per_s=size['batch'] / med['BYOL'],
            # peak of the process during the step (both models resident)
            # and its part above what was allocated before the step
            selfemd_peak_mb=res['Self-EMD']['peak_mb'],
            byol_peak_mb=res['BYOL']['peak_mb'],
            selfemd_step_mb=res['Self-EMD']['step_mb'],
            byol_step_mb=res['BYOL']['step_mb'],
            nonfinite_losses=sum(r['nonfinite_losses']
                                 for r in res.values()),
            times_s=times))
        ctx.log(f'  step {name} channels_last={cl}: Self-EMD '
                f"{med['Self-EMD'] * 1e3:.1f} ms, BYOL "
                f"{med['BYOL'] * 1e3:.1f} ms, ratio "
                f"{med['Self-EMD'] / med['BYOL']:.3f}")
        last_cost = time.monotonic() - t0
    out = dict(
        setting=f"ResNet-{size['depth']}, 2 x {size['img']} px, batch "
        f"{size['batch']}, {device.type}",
        depth=size['depth'], img=size['img'], batch=size['batch'],
        warmup=size['warmup'], repeats=size['repeats'], rows=rows,
        timing='wall clock of a whole step (synchronised), median')
    amp_rows = [r for r in rows if r['dtype'] != 'float32']
    if amp_rows:
        best = min(amp_rows, key=lambda r: r['selfemd_step_s'])
        out['best_amp'] = dict(
            precision=best['precision'], dtype=best['dtype'],
            channels_last=best['channels_last'],
            selfemd_step_s=best['selfemd_step_s'], ratio=best['ratio'],
            selfemd_pairs_per_s=best['selfemd_pairs_per_s'])
        if deadline.left() > 2 * last_cost / max(len(models), 1):
            out['recipe'] = _recipe(ctx, models['Self-EMD'], optim_cfg,
                                    best, recipe_batch)
        else:
            skipped.append('recipe (small views)')
    if skipped:
        out['_status'] = 'partial'
        out['skipped'] = skipped
    return out
