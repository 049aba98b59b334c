# Copyright (c) mmselfemd contributors. All rights reserved.
"""The GPU check's ``amp`` section: non-finite steps under AMP."""
import time

from projects.benchmarks import (
    build_model,
    build_optim,
    load_model_cfgs,
    make_batch,
    set_max_iters,
)

from .check_context import CheckContext
from .check_settings import PRECISION_NAMES
from .deadline import Deadline


def _checked_step(model, optim, batch) -> dict:
    """One training step (as ``BaseModel.train_step``) that inspects the
    gradients after unscaling, before the optimizer step."""
    import torch
    with optim.optim_context(model):
        data = model.data_preprocessor(batch, True)
        losses = model._run_forward(data, mode='loss')
    loss, log_vars = model.parse_losses(losses)
    optim.backward(loss)
    scaler = optim.loss_scaler if hasattr(optim, 'loss_scaler') else None
    if scaler is not None and scaler.is_enabled():
        scaler.unscale_(optim.optimizer)
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    finite_grad = bool(torch.stack(
        [torch.isfinite(g).all() for g in grads]).all())
    finite_loss = bool(torch.isfinite(loss))
    optim.step()
    optim.zero_grad()
    scale = float(scaler.get_scale()) if scaler is not None and \
        scaler.is_enabled() else None
    return dict(loss=float(loss), finite_loss=finite_loss,
                finite_grad=finite_grad, scale=scale)


def _run_phase(model, optim, steps: int, batch_of, first_index: int,
               warmup_steps: int, deadline: Deadline,
               per_step: float) -> tuple:
    """``steps`` checked steps; stops early when the deadline is near.

    Returns:
        tuple: The phase's record and the seconds of its last step.
    """
    rec = dict(steps=0, nonfinite_loss_steps=0, overflow_steps=0,
               overflow_steps_after_warmup=0, overflow_at=[],
               first_loss=None, last_loss=None, scales=[])
    for i in range(steps):
        if per_step and deadline.left() < 2 * per_step:
            break
        t0 = time.monotonic()
        res = _checked_step(model, optim, batch_of(i))
        per_step = time.monotonic() - t0
        step_index = first_index + rec['steps']
        rec['steps'] += 1
        rec['nonfinite_loss_steps'] += not res['finite_loss']
        if not res['finite_grad']:
            rec['overflow_steps'] += 1
            rec['overflow_at'].append(step_index)
            if step_index >= warmup_steps:
                rec['overflow_steps_after_warmup'] += 1
        if rec['first_loss'] is None:
            rec['first_loss'] = res['loss']
        rec['last_loss'] = res['loss']
        if res['scale'] is not None and (
                not rec['scales'] or rec['scales'][-1] != res['scale']):
            rec['scales'].append(res['scale'])
    return rec, per_step


def section_amp(ctx: CheckContext, deadline: Deadline) -> dict:
    """fp16 steps on real and degenerate batches; non-finite counts.

    Real batches, then identical views, then constant images, with the
    gradients checked after unscaling: non-finite losses, overflow
    (skipped) steps and non-finite parameters are counted. On CPU the
    steps are bfloat16 without loss scaling.

    Args:
        ctx (CheckContext): The check's context.
        deadline (Deadline): Soft deadline: the phases stop early when it
            is near (status ``partial``).

    Returns:
        dict: The section's result.
    """
    import torch

    from mmselfemd.utils import register_all_modules
    register_all_modules()
    size = ctx.size['step']
    amp = ctx.size['amp']
    device = ctx.device
    if ctx.cuda:
        torch.backends.cudnn.benchmark = True
    dtype = 'float16' if ctx.cuda else 'bfloat16'
    cl = ctx.best_amp_setting()[1]
    set_max_iters(amp['steps'] + 2 * amp['degenerate_steps'], 'gpu_check')
    model = build_model(
        load_model_cfgs(depth=size['depth'])['Self-EMD'], device)
    if cl:
        model.to(memory_format=torch.channels_last)
    optim = build_optim(model, None, dtype)
    real = [
        ctx.pin(make_batch(size['batch'], [size['img']] * 2, 10 + i))
        for i in range(amp['batches'])
    ]
    view = real[0]['inputs'][0]
    identical = dict(real[0], inputs=[view, view])
    constant = dict(real[0], inputs=[torch.full_like(view, 128)] * 2)
    phases = [('real', amp['steps'], lambda i: real[i % len(real)]),
              ('identical_views', amp['degenerate_steps'],
               lambda i: identical),
              ('constant_images', amp['degenerate_steps'],
               lambda i: constant)]
    out = dict(
        precision=PRECISION_NAMES[dtype], channels_last=cl,
        loss_scaling='dynamic (GradScaler)' if ctx.cuda else
        'none (bfloat16 on CPU: CPUAmpOptimWrapper)',
        setting=f"ResNet-{size['depth']}, 2 x {size['img']} px, batch "
        f"{size['batch']}", phases={})
    step_index = 0
    truncated = []
    per_step = None
    for name, steps, batch_of in phases:
        rec, per_step = _run_phase(model, optim, steps, batch_of,
                                   step_index, amp['warmup_steps'],
                                   deadline, per_step)
        step_index += rec['steps']
        out['phases'][name] = rec
        if rec['steps'] < steps:
            truncated.append(f'{name}: {rec["steps"]}/{steps} steps')
            break
    params_finite = all(
        bool(torch.isfinite(p).all()) for p in model.parameters())
    phases_out = out['phases'].values()
    out['total'] = dict(
        steps=sum(r['steps'] for r in phases_out),
        nonfinite_loss_steps=sum(
            r['nonfinite_loss_steps'] for r in phases_out),
        overflow_steps=sum(r['overflow_steps'] for r in phases_out),
        overflow_steps_after_warmup=sum(
            r['overflow_steps_after_warmup'] for r in phases_out),
        params_finite=params_finite)
    total = out['total']
    total['nonfinite_steps'] = total['nonfinite_loss_steps'] + total[
        'overflow_steps_after_warmup']
    out['note'] = (
        'overflow = non-finite gradients after unscaling: the GradScaler '
        f"skips that update and halves the scale; in the first "
        f"{amp['warmup_steps']} steps this is its calibration from "
        '2^16, later it counts as a non-finite step')
    if truncated:
        out['_status'] = 'partial'
        out['truncated'] = truncated
    return out
