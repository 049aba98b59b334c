# Copyright (c) mmselfemd contributors. All rights reserved.
from .spatial_byol_neck import SpatialBYOLNeck

__all__ = ['SpatialBYOLNeck']
