# Copyright (c) mmselfemd contributors. All rights reserved.
# Ablation: SPC small views. Per large view, two 96 px small views cut on a
# 2x2 / 3x3 spatial pyramid inside it, online only, matched to the target
# maps of both large views -- the small views that secondary summaries of
# the paper report. They were the default until the first transfer study
# (projects/transfer_study/docs/study_first.md) found them harmful at its
# scale (no-small 55.7 +- 0.9 AP vs selfemd 50.8 +- 1.9, not a resolved
# difference once the pretraining seed is the unit), at about 1.3x the
# compute per image.
_base_ = './selfemd_resnet50_8xb32-coslr-800e_coco.py'

train_dataloader = dict(dataset=dict(pipeline={{_base_.spc_train_pipeline}}))
