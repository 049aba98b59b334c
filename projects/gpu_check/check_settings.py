# Copyright (c) mmselfemd contributors. All rights reserved.
"""Sizes, time plan and targets of the GPU check."""

SECTIONS = ('env', 'emd', 'step', 'head_share', 'amp', 'dist', 'data')
# Share of the time budget planned for each section (seconds of the
# default 420 s budget; scaled to --budget).
PLAN_S = dict(env=15, emd=45, step=110, head_share=25, amp=75, dist=90,
              data=60)
# Default budgets (s) of the full check and of the CPU rehearsal. The
# rehearsal's dist section (two torchrun trainings) took 51 s on the 2-core
# CPU of 2026-12-04 and 185 s on the slower 2-core AMD EPYC of 2026-12-07,
# where a 300 s budget left it 99 s: 600 s leaves it ~390 s there.
BUDGET_S = dict(full=420.0, tiny=600.0)
# Sizes of the full check and of the CPU rehearsal (--tiny).
SETTINGS = {
    'full': dict(
        emd=dict(batch=256, nodes=[49, 196], channels=256, repeats=5),
        step=dict(depth=50, img=224, small=96, small_views=4, batch=64,
                  warmup=3, repeats=10),
        head_share=dict(repeats=20),
        amp=dict(steps=100, degenerate_steps=100, warmup_steps=10,
                 batches=4),
        dist=dict(iters=20, batch=8, workers=2),
        data=dict(batch=64, max_batches=150, seconds=25, images=64)),
    'tiny': dict(
        emd=dict(batch=16, nodes=[16, 49], channels=256, repeats=1),
        step=dict(depth=18, img=64, small=32, small_views=4, batch=4,
                  warmup=1, repeats=2),
        head_share=dict(repeats=3),
        amp=dict(steps=6, degenerate_steps=4, warmup_steps=2, batches=2),
        dist=dict(iters=10, batch=4, workers=1),
        data=dict(batch=8, max_batches=6, seconds=10, images=16)),
}
# (autocast dtype or None, channels_last) of the step section
STEP_VARIANTS = {
    'cuda': [(None, False), ('float16', False), ('float16', True),
             ('bfloat16', False), ('bfloat16', True)],
    'cpu': [(None, False), ('bfloat16', False), ('bfloat16', True)],
}
# How the report names an autocast dtype.
PRECISION_NAMES = {None: 'fp32', 'float16': 'fp16 AMP',
                   'bfloat16': 'bf16 AMP'}
# Targets of speed and stability, judged on a full run on CUDA: the EMD
# head's share of the step, the Self-EMD / BYOL step-time ratio under AMP
# (fastest AMP setting), Self-EMD pairs/s on one H100/H200-class GPU
# (ResNet-50, 224 px) and non-finite fp16 steps.
TARGETS = dict(
    head_share_max=0.05,
    amp_step_ratio_max=1.05,
    pairs_per_s_min=1000,
    nonfinite_steps_max=0)
# Modules some sections use; without them those sections say so.
OPTIONAL_MODULES = dict(
    ot='the emd section needs POT for the exact EMD and fails',
    geomloss='the emd section skips its rows',
    skimage='views are cut from random pixels; the data and dist sections '
    'need the images of the bundle (--images)')
# Modules that pretraining must not need (mmcv's compiled ops, mmdet,
# pycocotools: the GPU bundle carries none of them): made unimportable
# unless --allow-full-mmcv, so the check runs as with mmcv-lite.
BLOCKED = ('mmdet', 'mmcv.ops', 'mmcv._ext', 'pycocotools')
