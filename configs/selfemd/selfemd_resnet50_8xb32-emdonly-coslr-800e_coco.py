# Copyright (c) mmselfemd contributors. All rights reserved.
# Ablation: the dense EMD branch alone (no global pooled BYOL branch).
_base_ = './selfemd_resnet50_8xb32-coslr-800e_coco.py'

model = dict(global_neck=None, global_head=None)
