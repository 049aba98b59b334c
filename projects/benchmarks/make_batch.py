# Copyright (c) mmselfemd contributors. All rights reserved.
"""Batches of views for a training-step benchmark."""
from typing import List, Sequence

import numpy as np
import torch

# scikit-image photographs that views are cut from
SKIMAGE_IMAGES = ('astronaut', 'coffee', 'chelsea', 'rocket',
                  'hubble_deep_field', 'retina')


def _source_images(rng: np.random.Generator) -> List[torch.Tensor]:
    try:
        from skimage import data as skdata
    except ImportError:  # random pixels when scikit-image is missing
        return [
            torch.from_numpy(
                rng.integers(0, 256, (3, 512, 512), dtype=np.uint8))
        ]
    images = []
    for name in SKIMAGE_IMAGES:
        img = getattr(skdata, name)()
        if img.ndim == 2:
            img = np.stack([img] * 3, -1)
        images.append(
            torch.from_numpy(np.ascontiguousarray(img[..., :3])).permute(
                2, 0, 1))
    return images


def make_batch(batch_size: int, sizes: Sequence[int], seed: int) -> dict:
    """A batch as ``default_collate`` hands it to the data preprocessor.

    uint8 views (random square crops of real photographs, resized), one
    tensor per view size in ``sizes``, and empty ``DataSample``s.

    Args:
        batch_size (int): Samples.
        sizes (Sequence[int]): Side of each view in pixels.
        seed (int): Seed of the crops.

    Returns:
        dict: ``dict(inputs=[(B, 3, S, S) uint8, ...], data_samples=[...])``.
    """
    from mmpretrain.structures import DataSample
    rng = np.random.default_rng(seed)
    images = _source_images(rng)
    views = []
    for size in sizes:
        crops = []
        for _ in range(batch_size):
            img = images[rng.integers(len(images))]
            h, w = img.shape[1:]
            side = int(rng.integers(min(h, w) // 3, min(h, w) + 1))
            y = int(rng.integers(0, h - side + 1))
            x = int(rng.integers(0, w - side + 1))
            crop = img[None, :, y:y + side, x:x + side].float()
            crop = torch.nn.functional.interpolate(
                crop, size=(size, size), mode='bilinear', align_corners=False)
            crops.append(crop[0].round().clamp(0, 255).to(torch.uint8))
        views.append(torch.stack(crops))
    return dict(
        inputs=views, data_samples=[DataSample() for _ in range(batch_size)])
