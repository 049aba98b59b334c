# Copyright (c) mmselfemd contributors. All rights reserved.
# Ablation: uniform node weights instead of cross-reference weights.
_base_ = './selfemd_resnet50_8xb32-coslr-800e_coco.py'

model = dict(head=dict(weights='uniform'))
