# Copyright (c) mmselfemd contributors. All rights reserved.
# Importing the mmpretrain package registers its modules in the parent
# registry, so they build under scope mmselfemd without a prefix.
import mmpretrain.evaluation  # noqa: F401

from .roi_probe import RoIProbe

__all__ = ['RoIProbe']
