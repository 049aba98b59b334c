# Copyright (c) mmselfemd contributors. All rights reserved.
from typing import Sequence

import torch
from mmpretrain.datasets.transforms import PackInputs
from mmpretrain.structures import DataSample

from mmselfemd.registry import TRANSFORMS

VIEW_KEYS = ('crop_boxes', 'flips', 'parent')


@TRANSFORMS.register_module()
class PackMultiViewInputs(PackInputs):
    """Pack multi-view images plus their boxes, flips and parents.

    The contract read by the model (``SelfEMD``). The packed sample is
    ``dict(inputs=[view0, view1, small...], data_samples=DataSample)``:

    - ``inputs``: list of V ``(3, h, w)`` uint8 tensors, channel order as
      loaded (BGR by default). Views 0 and 1 are the large views; views
      ``2..V-1`` the small views.
    - ``data_samples``: an mmpretrain ``DataSample`` whose **data fields**
      (moved to the device with the sample) are

      - ``crop_boxes``: float32 tensor ``(V, 4)``, ``x1, y1, x2, y2`` of
        each view's region in original-image pixels (right/bottom
        exclusive), before flipping;
      - ``flips``: bool tensor ``(V,)``, True when the view was mirrored
        left-right (its content is the box's region flipped);
      - ``parent``: int64 tensor ``(V,)``, the index of the large view each
        small view was cut from, -1 for large views;

      and whose **metainfo** holds ``meta_keys`` present in the results
      (by default ``img_path``, ``ori_shape`` = ``(H, W)`` of the original
      image after EXIF rotation (the frame of ``crop_boxes``),
      ``sample_idx``, ``decode_factor``).

    After ``default_collate`` a batch has ``inputs`` as a list of V
    ``(N, 3, h, w)`` tensors and ``data_samples`` as a list of N
    ``DataSample``; ``torch.stack([s.crop_boxes for s in data_samples])``
    gives ``(N, V, 4)``.

    Args:
        input_key (str): Key of the list of views. Defaults to 'img'.
        meta_keys (Sequence[str]): Keys stored as metainfo.
    """

    def __init__(self,
                 input_key: str = 'img',
                 meta_keys: Sequence[str] = ('img_path', 'ori_shape',
                                             'sample_idx',
                                             'decode_factor')) -> None:
        super().__init__(
            input_key=input_key, algorithm_keys=(), meta_keys=meta_keys)

    def transform(self, results: dict) -> dict:
        """Pack views, boxes, flips and parents."""
        missing = [k for k in VIEW_KEYS if k not in results]
        if missing:
            raise KeyError(
                f'PackMultiViewInputs: results lack {missing}; put '
                'MultiViewWithBoxes before PackMultiViewInputs')
        packed = dict(inputs=self.format_input(results[self.input_key]))
        num_views = len(packed['inputs'])
        data_sample = DataSample()
        boxes = torch.as_tensor(results['crop_boxes'], dtype=torch.float32)
        flips = torch.as_tensor(results['flips'], dtype=torch.bool)
        parent = torch.as_tensor(results['parent'], dtype=torch.int64)
        if (boxes.shape != (num_views, 4) or flips.shape != (num_views, )
                or parent.shape != (num_views, )):
            raise ValueError(
                f'PackMultiViewInputs: {num_views} views but crop_boxes '
                f'{tuple(boxes.shape)}, flips {tuple(flips.shape)}, parent '
                f'{tuple(parent.shape)}')
        data_sample.set_field(boxes, 'crop_boxes')
        data_sample.set_field(flips, 'flips')
        data_sample.set_field(parent, 'parent')
        for key in self.meta_keys:
            if key in results:
                data_sample.set_field(
                    results[key], key, field_type='metainfo')
        packed['data_samples'] = data_sample
        return packed
