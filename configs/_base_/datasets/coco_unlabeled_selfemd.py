# Copyright (c) mmselfemd contributors. All rights reserved.
# COCO train2017 (118,287 images) + unlabeled2017 (123,403 images) = 241,690
# images, no labels; same views as coco_selfemd.py. Generated layout:
#   python tools/misc/check_coco_folder.py data/coco --print-config
_base_ = ['./coco_selfemd.py']

train_dataloader = dict(
    dataset=dict(
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'),
        sources=[
            dict(
                type='coco_json',
                ann_file='annotations/image_info_unlabeled2017.json',
                img_prefix='unlabeled2017/'),
        ]))
