# Copyright (c) mmselfemd contributors. All rights reserved.
# Ablation: the global (pooled BYOL) branch alone, same views (the two
# large views) as the default recipe. The EMD loss weight is 0, so the
# spatial neck/predictor receive no gradient; they still run (same step
# cost), which keeps the rest of the recipe identical.
_base_ = './selfemd_resnet50_8xb32-coslr-800e_coco.py'

model = dict(head=dict(loss_weight=0.))
