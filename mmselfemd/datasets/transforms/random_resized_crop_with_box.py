# Copyright (c) mmselfemd contributors. All rights reserved.
from typing import Optional, Sequence, Tuple, Union

import mmcv
from mmpretrain.datasets.transforms import RandomResizedCrop

from mmselfemd.registry import TRANSFORMS

from .box_utils import current_crop_box, img_to_original


@TRANSFORMS.register_module()
class RandomResizedCropWithBox(RandomResizedCrop):
    """mmpretrain's ``RandomResizedCrop`` that records where it cropped.

    The crop is sampled exactly as in mmpretrain (same arguments, same
    random parameters). In addition ``results['crop_box']`` is updated to
    the crop's region in original-image pixels (``[x1, y1, x2, y2]``,
    float32, right/bottom exclusive), which stays correct when the image was
    decoded at reduced size or cropped before.

    **Required Keys:** ``img``; optional ``crop_box`` (set by
    ``LoadImageRobust``; the whole image when absent).

    **Modified Keys:** ``img``, ``img_shape``, ``crop_box``.

    Args:
        scale (Sequence | int): Output size ``(h, w)`` or an int.
        crop_ratio_range (tuple): Crop area fraction range.
            Defaults to (0.08, 1.0).
        aspect_ratio_range (tuple): Crop aspect ratio range.
            Defaults to (3/4, 4/3).
        max_attempts (int): Attempts before the central-crop fallback.
            Defaults to 10.
        interpolation (str): Interpolation used when the crop is enlarged
            (and always when ``downscale_interpolation`` is None).
            Defaults to 'bilinear'.
        backend (str): ``'cv2'`` or ``'pillow'``. Defaults to 'cv2'.
        downscale_interpolation (str, optional): Interpolation used when the
            crop is at least as large as the output along both sides, e.g.
            ``'area'`` (cv2's anti-aliased, fast downscaling). Defaults to
            None (always ``interpolation``, as mmpretrain does).
    """

    #: Sets ``results['crop_box']`` (checked by ``MultiViewWithBoxes``).
    records_crop_box = True

    def __init__(self,
                 scale: Union[Sequence, int],
                 crop_ratio_range: Tuple[float, float] = (0.08, 1.0),
                 aspect_ratio_range: Tuple[float, float] = (3. / 4., 4. / 3.),
                 max_attempts: int = 10,
                 interpolation: str = 'bilinear',
                 backend: str = 'cv2',
                 downscale_interpolation: Optional[str] = None) -> None:
        super().__init__(
            scale,
            crop_ratio_range=crop_ratio_range,
            aspect_ratio_range=aspect_ratio_range,
            max_attempts=max_attempts,
            interpolation=interpolation,
            backend=backend)
        self.downscale_interpolation = downscale_interpolation

    def transform(self, results: dict) -> dict:
        """Crop, resize and record the crop box."""
        img = results['img']
        crop_box = current_crop_box(results)
        offset_h, offset_w, target_h, target_w = self.rand_crop_params(img)
        img = img[offset_h:offset_h + target_h, offset_w:offset_w + target_w]
        out_h, out_w = self.scale
        interpolation = self.interpolation
        if (self.downscale_interpolation is not None and target_h >= out_h
                and target_w >= out_w):
            interpolation = self.downscale_interpolation
        img = mmcv.imresize(
            img, (out_w, out_h),
            interpolation=interpolation,
            backend=self.backend)
        results['crop_box'] = img_to_original(
            crop_box, results['img'].shape,
            (offset_w, offset_h, offset_w + target_w, offset_h + target_h))
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return (super().__repr__()[:-1] +
                f', downscale_interpolation={self.downscale_interpolation})')
