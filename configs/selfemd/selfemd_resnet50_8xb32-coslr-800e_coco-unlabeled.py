# Copyright (c) mmselfemd contributors. All rights reserved.
# The default recipe on COCO train2017 + unlabeled2017 (241,690 images; the
# paper's "more unlabeled images" setting, 40.4 AP).
_base_ = [
    '../_base_/models/selfemd_resnet50.py',
    '../_base_/datasets/coco_unlabeled_selfemd.py',
    '../_base_/schedules/lars_coslr-800e.py',
    '../_base_/default_runtime.py',
]
