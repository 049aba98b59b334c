# Copyright (c) mmselfemd contributors. All rights reserved.
"""JPEGs of real photographs at COCO size, for data-pipeline benchmarks."""
import os
import os.path as osp
from typing import List, Tuple

import numpy as np

# photographs re-encoded as COCO-size JPEGs
PHOTOS = ('astronaut', 'coffee', 'chelsea', 'rocket', 'hubble_deep_field',
          'immunohistochemistry', 'retina', 'camera')


def make_coco_size_jpegs(folder: str,
                         num: int,
                         size: Tuple[int, int] = (640, 480),
                         quality: int = 90) -> List[str]:
    """Write JPEGs of real photographs at a given size.

    scikit-image's photographs, resized (bicubic) to ``size`` (width,
    height) for even ``i`` and to the transposed size for odd ``i`` (COCO
    has both orientations), cycled, saved at JPEG ``quality``.

    Args:
        folder (str): Output folder (created).
        num (int): Number of images.
        size (tuple[int, int]): (width, height). Defaults to COCO's usual
            (640, 480).
        quality (int): JPEG quality. Defaults to 90.

    Returns:
        list[str]: Paths of the files, named ``{width}_{i}.jpg``.
    """
    import cv2
    from PIL import Image
    from skimage import data
    os.makedirs(folder, exist_ok=True)
    paths = []
    for i in range(num):
        img = getattr(data, PHOTOS[i % len(PHOTOS)])()
        if img.ndim == 2:
            img = np.dstack([img] * 3)
        w, h = size if i % 2 == 0 else size[::-1]
        img = cv2.resize(img[..., :3], (w, h), interpolation=cv2.INTER_CUBIC)
        path = osp.join(folder, f'{size[0]}_{i}.jpg')
        Image.fromarray(img).save(path, quality=quality)
        paths.append(path)
    return paths
