# Copyright (c) mmselfemd contributors. All rights reserved.
# Importing the mmpretrain package registers its modules in the parent
# registry, so they build under scope mmselfemd without a prefix.
import mmpretrain.datasets  # noqa: F401

from .coco_unlabeled import CocoUnlabeledDataset
from .epoch_worker_init_fn import epoch_worker_init_fn
from .list_images import IMG_EXTENSIONS, list_images
from .transforms import *  # noqa: F401,F403
from .unreadable_images import check_image_file, find_unreadable_images
from .voc_devkit_check import VOCCheckResult, check_voc_devkit, find_devkit

__all__ = [
    'CocoUnlabeledDataset', 'IMG_EXTENSIONS', 'epoch_worker_init_fn',
    'list_images', 'check_image_file', 'find_unreadable_images',
    'VOCCheckResult', 'check_voc_devkit', 'find_devkit'
]
