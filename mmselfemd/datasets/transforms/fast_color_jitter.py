# Copyright (c) mmselfemd contributors. All rights reserved.
import cv2
import numpy as np
from mmpretrain.datasets.transforms import ColorJitter

from mmselfemd.registry import TRANSFORMS


def _blend_gray(img: np.ndarray, alpha: float, gray: np.ndarray) -> np.ndarray:
    return cv2.addWeighted(img, alpha, gray, 1.0 - alpha, 0.0)


@TRANSFORMS.register_module()
class FastColorJitter(ColorJitter):
    """mmpretrain's ``ColorJitter`` with uint8 OpenCV operations.

    Same arguments and the same random parameters (the parent's
    ``_rand_params``: random order of brightness, contrast, saturation and
    hue), but each operation is one OpenCV call on uint8 instead of a
    round trip through Pillow, and the hue shift is done modulo 256 with a
    lookup table. mmcv 2.1.0's ``adjust_hue`` (both backends) raises
    ``OverflowError`` under numpy 2 for every negative hue factor, i.e. about
    half of the calls of a ``hue=0.1`` jitter; this class does not.

    The operations follow Pillow's ``ImageEnhance`` definitions (and
    therefore torchvision's): brightness blends with black, contrast with
    the mean grey level, saturation with the grey image (ITU-R 601 luma),
    hue rotates the HSV hue channel. Images are expected in BGR order (the
    mmcv convention, as in mmpretrain's ``ColorJitter``).

    Args:
        brightness, contrast, saturation, hue: As in mmpretrain's
            ``ColorJitter``.
    """

    def __init__(self,
                 brightness=0.,
                 contrast=0.,
                 saturation=0.,
                 hue=0.) -> None:
        super().__init__(
            brightness=brightness,
            contrast=contrast,
            saturation=saturation,
            hue=hue,
            backend='cv2')

    def transform(self, results: dict) -> dict:
        """Apply the colour jitter to ``results['img']`` (uint8 BGR)."""
        img = results['img']
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise TypeError('FastColorJitter expects a (h, w, 3) uint8 '
                            f'image, got {img.dtype} {img.shape}')
        order, brightness, contrast, saturation, hue = self._rand_params()
        for index in order:
            if index == 0 and brightness is not None:
                img = cv2.convertScaleAbs(img, alpha=float(brightness))
            elif index == 1 and contrast is not None:
                mean = int(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).mean() + .5)
                img = cv2.addWeighted(img, float(contrast), img, 0.0,
                                      mean * (1.0 - float(contrast)))
            elif index == 2 and saturation is not None:
                gray = cv2.cvtColor(
                    cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
                img = _blend_gray(img, float(saturation), gray)
            elif index == 3 and hue is not None:
                shift = int(round(float(hue) * 255))
                if shift % 256:
                    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV_FULL)
                    lut = ((np.arange(256) + shift) % 256).astype(np.uint8)
                    hsv[..., 0] = cv2.LUT(hsv[..., 0], lut)
                    img = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR_FULL)
        results['img'] = img
        return results
