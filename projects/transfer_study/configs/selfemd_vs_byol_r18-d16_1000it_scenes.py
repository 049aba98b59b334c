# Copyright (c) mmselfemd contributors. All rights reserved.
# The second transfer study (issue 16, projects/transfer_study/docs/study.md):
# does the default Self-EMD, with a plan that matches, give a detector more
# than BYOL, in a regime where the matching has converged? Run from the
# repository root with
#   python projects/transfer_study/tools/transfer_study.py --jobs 2 \
#   --threads 1 \
#   projects/transfer_study/configs/selfemd_vs_byol_r18-d16_1000it_scenes.py
# Written down before any of its runs (2026-12-04):
# - Data: new scenes (seed 2) with a validation split (settings are chosen
#   there) and a separate test split (results are reported there only).
# - Regime: 1000 pretraining iterations x 32 images (5x the first study);
#   the dilated C5 of pretraining is kept in fine-tuning (d16 detector).
# - Selection (validation split): each arm's LARS lr from {0.0375 (the
#   config tree's linear scaling, 0.3 x 32 / 256), 0.15, 0.6 (the first
#   study's)}, pretraining seed 0, fine-tuning seed 0; rule: the highest val
#   AP, a tie to the lower lr. The small-view weighting is one cell: SPC
#   small views with pair_reduction 'mean' and 'sum' at lr 0.15, against the
#   two-view default at lr 0.15 (val split, seed 0).
# - Deciding run (test split): random init, BYOL and Self-EMD at the
#   selected lr, fresh pretraining seeds 1-4, fine-tuning seeds 0 and 1
#   (random init: 4 initialisations). Primary test: Self-EMD - BYOL, unit
#   the pretraining seed, Welch t, 95 % CI; equivalence (TOST) margin 2 AP.
# - If AP is tied within the minimum detectable difference, fidelity to the
#   method (a plan that matches, no collapse) decides the default
#   (docs/en/advanced_guides/model.md).
# Amended 2026-12-05, after the selection and before any deciding run: the
# work dir of the first session (selection runs done, selection.json
# written) was lost with its checkout; the decision is restored from its
# committed record (then docs/en/study2/selection.json, now
# projects/transfer_study/records/study2/selection.json) and the deciding
# runs use fine-tuning seed 0 only (one fine-tuning per pretraining seed, the
# unit of the analysis), so that the four pretraining seeds per arm fit in
# one session; random init goes after the pretrained arms.
selfemd = 'configs/selfemd/selfemd_resnet18-d16_1xb32-coslr-200it_scenes.py'
byol = 'configs/selfemd/byol_resnet18-d16_1xb32-coslr-200it_scenes.py'
det_dir = 'configs/benchmarks/mmdetection/scenes/'

data = dict(
    type='demo_scenes',
    seed=2,
    num_train=400,
    num_val=300,
    num_test=300,
    num_unlabeled=800,
    size=224,
    min_objects=3,
    max_objects=6)
splits = dict(
    val=dict(ann_file='annotations/instances_val.json', img_prefix='val/'),
    test=dict(ann_file='annotations/instances_test.json',
              img_prefix='test/'))

# The runner rescales the configs' 200-iteration schedules (warm-up 5 %,
# cosine) to these iterations.
pretrain = dict(
    iters=1000,
    batch_size=32,
    checkpoint_interval=250,
    log_interval=10,
    seconds_guess=1200.0)

finetune = dict(
    config=det_dir + 'faster-rcnn_r18-d16-pre_fpn_1xb8-300it_scenes.py',
    scratch_config=(det_dir +
                    'faster-rcnn_r18-d16-scratch_fpn_1xb8-300it_scenes.py'),
    iters=300,
    log_interval=50,
    seconds_guess=330.0)

backbone = dict(depth=18, stem_channels=32, base_channels=32)
probe = None  # the first study found it does not rank detection AP

# Self-EMD as the defaults now are: two views (no small views) and the
# default solver (eps 0.1 relative to the doubly centred cost's spread, 30
# iterations); the exact plan's matching gain is logged for comparison.
two_view = {
    'train_dataloader.dataset.pipeline.1.small_view_crop': None,
    'train_dataloader.dataset.pipeline.1.small_view_transforms': None,
}
default_emd = dict(
    two_view, **{
        'model.head.eps_mode': 'std',
        'model.head.eps': 0.1,
        'model.head.num_iters': 30,
        'model.head.diagnostics': 'exact',
    })
spc = {
    'model.head.eps_mode': 'std',
    'model.head.eps': 0.1,
    'model.head.num_iters': 30,
    'model.head.diagnostics': 'exact',
    'optim_wrapper.optimizer.lr': 0.15,
}
lrs = (0.0375, 0.15, 0.6)


def _lr(opts, lr):
    return dict(opts, **{'optim_wrapper.optimizer.lr': lr})


variants = [
    dict(name=f'byol-lr{lr}', pretrain=byol, split='val',
         cfg_options=_lr({}, lr), description=f'BYOL, LARS lr {lr}')
    for lr in lrs
] + [
    dict(name=f'selfemd-lr{lr}', pretrain=selfemd, split='val',
         cfg_options=_lr(default_emd, lr),
         description=f'Self-EMD (defaults), LARS lr {lr}') for lr in lrs
] + [
    dict(name='spc-mean', pretrain=selfemd, split='val', cfg_options=spc,
         description='SPC small views, pairs averaged (large pair 2/10 of '
         'the loss), lr 0.15'),
    dict(name='spc-sum', pretrain=selfemd, split='val',
         cfg_options=dict(spc, **{'model.pair_reduction': 'sum'}),
         description='SPC small views, pairs summed (large pair keeps its '
         'weight), lr 0.15'),
    dict(name='random', pretrain=None, split='test',
         description='random init'),
    dict(name='byol', pretrain=byol, split='test', select='byol',
         description="mmpretrain's BYOL at the selected lr"),
    dict(name='selfemd', pretrain=selfemd, split='test', select='selfemd',
         description='Self-EMD defaults at the selected lr'),
]
selection = dict(groups=dict(
    byol=[f'byol-lr{lr}' for lr in lrs],
    selfemd=[f'selfemd-lr{lr}' for lr in lrs]))
seeds = dict(
    pretrain=[0],
    pretrain_extra=dict(
        random=[0, 1, 2, 3], byol=[1, 2, 3, 4], selfemd=[1, 2, 3, 4]),
    finetune=[0])
compare = [
    dict(a='selfemd', b='byol', margin=2.0),
    dict(a='selfemd', b='random'),
    dict(a='byol', b='random'),
    dict(a='spc-sum', b='spc-mean'),
    dict(a='spc-sum', b='selfemd-lr0.15'),
]

# --quick (tests): tiny scenes, a few iterations, one selection group of
# two, a deciding variant with two pretraining seeds, random init
quick = dict(
    data=dict(num_train=8, num_val=8, num_test=8, num_unlabeled=8, size=96,
              min_objects=1, max_objects=2),
    pretrain=dict(iters=2, batch_size=4, checkpoint_interval=2,
                  log_interval=1, seconds_guess=20.0),
    finetune=dict(iters=2, log_interval=1, seconds_guess=20.0),
    selection=dict(groups=dict(
        _delete_=True, selfemd=['selfemd-lr0.0375', 'selfemd-lr0.6'])),
    seeds=dict(
        pretrain_extra=dict(_delete_=True, random=[0, 1], selfemd=[1, 2]),
        finetune_extra=dict(_delete_=True)))
quick_variants = ['random', 'selfemd']
