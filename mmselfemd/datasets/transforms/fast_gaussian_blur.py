# Copyright (c) mmselfemd contributors. All rights reserved.
import cv2
from mmpretrain.datasets.transforms import GaussianBlur

from mmselfemd.registry import TRANSFORMS


@TRANSFORMS.register_module()
class FastGaussianBlur(GaussianBlur):
    """mmpretrain's ``GaussianBlur`` computed with ``cv2.GaussianBlur``.

    Same arguments and random draws (``prob``, ``radius`` or
    ``magnitude_range``); the radius is used as the Gaussian's standard
    deviation, as in Pillow's ``ImageFilter.GaussianBlur`` (which
    approximates it with box blurs), with a kernel of about 3 sigma on each
    side, and no conversion to a Pillow image.
    """

    def transform(self, results: dict) -> dict:
        """Blur ``results['img']`` with probability ``prob``."""
        if self.random_disable():
            return results
        radius = (self.radius
                  if self.radius is not None else self.random_magnitude())
        if radius > 0:
            results['img'] = cv2.GaussianBlur(
                results['img'], (0, 0),
                sigmaX=float(radius),
                borderType=cv2.BORDER_REFLECT)
        return results
