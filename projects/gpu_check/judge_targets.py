# Copyright (c) mmselfemd contributors. All rights reserved.
"""The speed and stability targets (``TARGETS``) against what the GPU
check measured."""
from .check_context import CheckContext
from .check_settings import TARGETS


def judge_targets(ctx: CheckContext) -> dict:
    """The targets of ``TARGETS``, with the measured values; judged (``met``)
    only on a full run on CUDA.

    Args:
        ctx (CheckContext): The check's context, with the results of the
            sections run so far.

    Returns:
        dict: Per target: ``value`` (None if not measured), ``target``,
        ``text`` and ``met`` (True, False, or None when not judged).
    """
    res = {k: v.get('result', {}) for k, v in ctx.results.items()}
    judged = ctx.judged
    out = {}

    def add(name, value, target, ok, text):
        out[name] = dict(value=value, target=target, text=text,
                         met=(ok if judged else None)
                         if value is not None else None)

    share = res.get('head_share', {}).get('head_share')
    add('head_share', share, TARGETS['head_share_max'],
        share is not None and share <= TARGETS['head_share_max'],
        'EMD head (predictor + EMD) share of the GPU step <= 5 %')
    best = res.get('step', {}).get('best_amp', {})
    ratio = best.get('ratio')
    add('amp_step_ratio', ratio, TARGETS['amp_step_ratio_max'],
        ratio is not None and ratio <= TARGETS['amp_step_ratio_max'],
        'Self-EMD / BYOL step time under AMP <= 1.05 (fastest AMP '
        'setting)')
    pairs = best.get('selfemd_pairs_per_s')
    add('pairs_per_s', pairs, TARGETS['pairs_per_s_min'],
        pairs is not None and pairs >= TARGETS['pairs_per_s_min'],
        '>= 1,000 Self-EMD pairs/s per H100/H200-class GPU, ResNet-50, '
        '224 px')
    total = res.get('amp', {}).get('total', {})
    bad = total.get('nonfinite_steps')
    if bad is not None and not total.get('params_finite', True):
        bad += 1
    add('nonfinite_steps', bad, TARGETS['nonfinite_steps_max'],
        bad is not None and bad <= TARGETS['nonfinite_steps_max'],
        'zero non-finite steps (fp16, real and degenerate batches)')
    return out
