# Copyright (c) mmselfemd contributors. All rights reserved.
from .fast_color_jitter import FastColorJitter
from .fast_gaussian_blur import FastGaussianBlur
from .image_decoder import (
    UnreadableImageError,
    decode_image_robust,
    read_image_size,
)
from .load_image_robust import LoadImageRobust
from .multi_view_with_boxes import MultiViewWithBoxes
from .pack_multi_view_inputs import PackMultiViewInputs
from .random_resized_crop_with_box import RandomResizedCropWithBox
from .spatial_pyramid_crop import SpatialPyramidCrop

__all__ = [
    'FastColorJitter', 'FastGaussianBlur', 'LoadImageRobust',
    'UnreadableImageError', 'decode_image_robust', 'read_image_size',
    'MultiViewWithBoxes', 'PackMultiViewInputs', 'RandomResizedCropWithBox',
    'SpatialPyramidCrop'
]
