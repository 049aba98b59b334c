# Copyright (c) mmselfemd contributors. All rights reserved.
"""The GPU check's ``head_share`` section: the EMD head within a step."""
from projects.benchmarks import (
    build_model,
    build_optim,
    load_model_cfgs,
    make_batch,
    measure_steps,
    median_or_none,
    set_max_iters,
    time_calls,
)

from .check_context import CheckContext
from .check_settings import PRECISION_NAMES
from .deadline import Deadline


def section_head_share(ctx: CheckContext, deadline: Deadline) -> dict:
    """Time of the EMD head and of the EMD alone within a step.

    At the fastest AMP setting of the step section: the whole step
    (:func:`measure_steps`), the head (predictor + EMD loss of the two
    pairs) and the EMD similarity of the predicted maps alone, each
    forward + backward (:func:`time_calls`: CUDA events on CUDA); medians.

    Args:
        ctx (CheckContext): The check's context.
        deadline (Deadline): Soft deadline (unused: the section is short).

    Returns:
        dict: The section's result (``head_share``, ``emd_share``).
    """
    import torch

    from mmselfemd.utils import register_all_modules
    register_all_modules()
    size = ctx.size['step']
    repeats = ctx.size['head_share']['repeats']
    device = ctx.device
    if ctx.cuda:
        torch.backends.cudnn.benchmark = True
    dtype, cl = ctx.best_amp_setting()
    set_max_iters(10**6, 'gpu_check')
    model = build_model(
        load_model_cfgs(depth=size['depth'])['Self-EMD'], device)
    if cl:
        model.to(memory_format=torch.channels_last)
    optim = build_optim(model, None, dtype)
    batch = ctx.pin(make_batch(size['batch'], [size['img']] * 2, 1))
    step_times = measure_steps({'Self-EMD': model}, {'Self-EMD': optim},
                               {'Self-EMD': batch}, device, size['warmup'],
                               repeats)['Self-EMD']['wall_s']
    # the head's inputs, as in SelfEMD.loss: online projections (leaves
    # that take the gradient, like the neck's outputs) and targets
    with torch.no_grad(), optim.optim_context(model):
        data = model.data_preprocessor(batch, True)
        views = data['inputs'][:2]
        online = [model.neck(model.backbone(v))[0] for v in views]
        target_net = model.target_net.module
        targets = [target_net[1](target_net[0](v))[0] for v in views]
    online = [o.detach().requires_grad_() for o in online]
    pairs = [(0, 1), (1, 0)]
    head = model.head

    def head_step():
        with optim.optim_context(model):
            loss = head.loss_pairs(online, targets, pairs,
                                   return_diagnostics=True)[0]
        (2 * loss).backward()

    with torch.no_grad(), optim.optim_context(model):
        preds = [head.predict(o) for o in online]
    preds = [p.detach().requires_grad_() for p in preds]

    def emd_step():
        with optim.optim_context(model):
            sims = [head.similarity(preds[i], targets[j]) for i, j in pairs]
        (2 - 2 * torch.cat(sims).mean()).backward()

    head_times = time_calls(head_step, repeats, device)
    emd_times = time_calls(emd_step, repeats, device)
    step_s, head_s, emd_s = (median_or_none(step_times),
                             median_or_none(head_times),
                             median_or_none(emd_times))
    return dict(
        setting=f"ResNet-{size['depth']}, 2 x {size['img']} px, batch "
        f"{size['batch']}, {PRECISION_NAMES[dtype]}, channels_last={cl}",
        head=f'{type(head).__name__}: eps={getattr(head, "eps", None)}, '
        f'num_iters={getattr(head, "num_iters", None)}, '
        f'weights={getattr(head, "weights", None)}, '
        f'solver={getattr(head, "solver", "sinkhorn")}',
        step_s=step_s, head_s=head_s, emd_s=emd_s,
        head_share=head_s / step_s, emd_share=emd_s / step_s,
        repeats=repeats,
        timing='step: wall clock (synchronised); head and EMD: CUDA '
        'events' if ctx.cuda else 'wall clock',
        note='head = predictor + EMD loss of the 2 pairs (2 x B '
        'problems of 7 x 7 nodes at 224 px), forward + backward; EMD = '
        'SpatialEMDHead.similarity of the predicted maps, forward + '
        'backward')
