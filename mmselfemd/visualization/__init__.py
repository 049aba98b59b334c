# Copyright (c) mmselfemd contributors. All rights reserved.
# Importing the mmpretrain package registers its modules in the parent
# registry, so they build under scope mmselfemd without a prefix.
import mmpretrain.visualization  # noqa: F401

from .multi_view_sample import (
    MultiViewSample,
    find_grid_sizes,
    load_source_image,
    sample_multi_view,
    views_are_bgr,
)
from .multi_view_visualizer import (
    LARGE_VIEW_COLORS,
    SMALL_VIEW_COLORS,
    MultiViewVisualizer,
    Panel,
    view_colors,
)
from .transport_plan import (
    compute_transport_plan,
    crop_view,
    draw_transport_plan,
)

__all__ = [
    'LARGE_VIEW_COLORS', 'SMALL_VIEW_COLORS', 'MultiViewSample',
    'MultiViewVisualizer', 'Panel', 'compute_transport_plan', 'crop_view',
    'draw_transport_plan', 'find_grid_sizes', 'load_source_image',
    'sample_multi_view', 'view_colors', 'views_are_bgr'
]
