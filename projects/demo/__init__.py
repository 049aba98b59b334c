# Copyright (c) mmselfemd contributors. All rights reserved.
"""Generated demo data: cluttered scenes from real photographs (COCO
boxes) and the same scenes as a small PASCAL VOC tree, for the demo, the
transfer studies and the tests (see ``README.md``)."""
from .demo_scenes import CLASSES, make_demo_scenes
from .demo_voc import VOC_NAMES, make_demo_voc, voc_annotation

__all__ = [
    'CLASSES', 'VOC_NAMES', 'make_demo_scenes', 'make_demo_voc',
    'voc_annotation'
]
