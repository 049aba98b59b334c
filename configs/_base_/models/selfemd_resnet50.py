# Copyright (c) mmselfemd contributors. All rights reserved.
# Self-EMD (https://arxiv.org/abs/2011.13677) on a ResNet-50, as a real
# (distributed, SyncBN) run builds it. Paper facts: BYOL base, feature map
# kept (no pooling), 1x1-conv projector/predictor, EMD similarity, a global
# branch beside the dense one. Our choices (see
# docs/en/advanced_guides/model.md, which names the transfer-study row behind
# each): widths, cross-reference node
# weights, eps = 0.1 x the spread of the doubly centred cost with 30
# Sinkhorn iterations (after eps-scaling),
# envelope gradient, global weight 1, small views (when a config has them)
# matched to both large targets.
# Tests and single-process runs swap SyncBN for BN.
norm_cfg = dict(type='SyncBN')

model = dict(
    type='SelfEMD',
    # mmengine convention: weight of the online net; 0.01 == classic 0.99,
    # cosine-annealed to 0 (classic 1.0) over max_iters.
    base_momentum=0.01,
    end_momentum=0.0,
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    # C5 (stride 32): a 224 px view gives a 7x7 map (49 nodes).
    backbone=dict(
        type='ResNet',
        depth=50,
        out_indices=(3, ),
        norm_cfg=norm_cfg,
        zero_init_residual=False),
    # BYOL's projector as 1x1 convs: keeps H x W.
    neck=dict(
        type='SpatialBYOLNeck',
        in_channels=2048,
        hid_channels=4096,
        out_channels=256,
        num_layers=2,
        with_bias=True,
        with_last_bn=False,
        norm_cfg=norm_cfg),
    head=dict(
        type='SpatialEMDHead',
        predictor=dict(
            type='SpatialBYOLNeck',
            in_channels=256,
            hid_channels=4096,
            out_channels=256,
            num_layers=2,
            with_bias=True,
            with_last_bn=False,
            norm_cfg=norm_cfg),
        weights='cross_reference',
        # eps relative to the spread of the doubly centred cost of each
        # problem (eps_mode='std'): the plan matches whatever the cost
        # spread (docs/en/advanced_guides/emd.md,
        # projects/transfer_study/docs/study.md); the absolute eps=0.05
        # of the first study gave a near-independent plan on trained maps
        eps_mode='std',
        eps=0.1,
        num_iters=30,
        grad='envelope',
        loss_weight=1.0),
    # Global branch: mmpretrain's BYOL neck/head on pooled features. Set
    # global_neck=None and global_head=None to switch it off.
    global_neck=dict(
        type='NonLinearNeck',
        in_channels=2048,
        hid_channels=4096,
        out_channels=256,
        num_layers=2,
        with_bias=True,
        with_last_bn=False,
        with_avg_pool=True,
        norm_cfg=norm_cfg),
    global_head=dict(
        type='LatentPredictHead',
        predictor=dict(
            type='NonLinearNeck',
            in_channels=256,
            hid_channels=4096,
            out_channels=256,
            num_layers=2,
            with_bias=True,
            with_last_bn=False,
            with_avg_pool=False,
            norm_cfg=norm_cfg),
        # 2 - 2 cos per pair, the same scale as the EMD branch.
        loss=dict(type='CosineSimilarityLoss', shift_factor=2.0,
                  scale_factor=2.0)),
    global_loss_weight=1.0,
    # Small views (inputs[2:]) are online-only; each is matched to the
    # target maps of both large views ('parent' / 'other' read
    # DataSample.parent).
    small_view_targets='both',
)
