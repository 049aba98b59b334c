# Copyright (c) mmselfemd contributors. All rights reserved.
from .spatial_emd_head import SpatialEMDHead

__all__ = ['SpatialEMDHead']
