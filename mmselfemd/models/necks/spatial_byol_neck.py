# Copyright (c) mmselfemd contributors. All rights reserved.
from collections import OrderedDict
from typing import List, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule

from mmselfemd.registry import MODELS


@MODELS.register_module()
class SpatialBYOLNeck(BaseModule):
    """BYOL's projector MLP applied at every location of a feature map.

    The fully-connected layers of mmpretrain's ``NonLinearNeck`` become 1×1
    convolutions and global pooling is dropped, so the output keeps the
    spatial size H×W of the input (the "BYOL neck" of `Self-EMD
    <https://arxiv.org/abs/2011.13677>`_). Structure:
    conv-norm-[relu-conv-norm], where the bracket is repeated
    ``num_layers - 1`` times and the last norm is optional. The same module
    serves as the predictor of :class:`SpatialEMDHead`.

    With a 1×1 input map, the neck computes exactly what ``NonLinearNeck``
    (``with_avg_pool=False``) computes on the flattened vectors, since a
    2-d batch norm over (B, C, 1, 1) uses the same statistics as a 1-d
    batch norm over (B, C).

    Widths are configurable; the default recipe (our choice, following
    BYOL) is 2048→4096→256 for the projector and 256→4096→256 for the
    predictor (``docs/en/advanced_guides/model.md``).

    Args:
        in_channels (int): Number of input channels.
        hid_channels (int): Number of hidden channels.
        out_channels (int): Number of output channels.
        num_layers (int): Number of 1×1 conv layers (>= 2). Defaults to 2.
        with_bias (bool): Whether the hidden convs have a bias.
            Defaults to False.
        with_last_bn (bool): Whether to add a norm layer after the last
            conv. Defaults to True.
        with_last_bn_affine (bool): Whether the last norm layer has
            learnable affine parameters. Defaults to True.
        with_last_bias (bool): Whether the last conv has a bias.
            Defaults to False.
        channels_last (bool): Run the layers in channels-last memory
            format, where a 1×1 conv is one plain matrix product; same
            values, about 15-20 % faster forward + backward on CPU at
            ResNet-50 sizes (measured when it was written, 8ac38ff).
            Defaults to True.
        norm_cfg (dict, optional): Config of the norm layers. None means
            ``dict(type='SyncBN')`` (what a distributed run uses); tests and
            single-process runs pass ``dict(type='BN')``. Defaults to None.
        init_cfg (dict or list[dict], optional): Initialization config.
            None means constant 1 on the norm layers' weights, like
            ``NonLinearNeck``. Defaults to None.
    """

    def __init__(self,
                 in_channels: int,
                 hid_channels: int,
                 out_channels: int,
                 num_layers: int = 2,
                 with_bias: bool = False,
                 with_last_bn: bool = True,
                 with_last_bn_affine: bool = True,
                 with_last_bias: bool = False,
                 channels_last: bool = True,
                 norm_cfg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        if init_cfg is None:
            init_cfg = [
                dict(
                    type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])
            ]
        super().__init__(init_cfg=init_cfg)
        if num_layers < 2:
            raise ValueError(f'num_layers must be >= 2, got {num_layers}')
        norm_cfg = dict(type='SyncBN') if norm_cfg is None else norm_cfg
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.channels_last = channels_last

        # Names follow NonLinearNeck (``bn*``) so that optimizer rules keyed
        # on 'bn' (no weight decay, LARS exclusion) also match these norms.
        layers: 'OrderedDict[str, nn.Module]' = OrderedDict()
        layers['conv0'] = nn.Conv2d(in_channels, hid_channels, 1,
                                    bias=with_bias)
        layers['bn0'] = build_norm_layer(norm_cfg, hid_channels)[1]
        for i in range(1, num_layers):
            layers[f'relu{i}'] = nn.ReLU(inplace=True)
            if i < num_layers - 1:
                layers[f'conv{i}'] = nn.Conv2d(
                    hid_channels, hid_channels, 1, bias=with_bias)
                layers[f'bn{i}'] = build_norm_layer(norm_cfg, hid_channels)[1]
            else:
                layers[f'conv{i}'] = nn.Conv2d(
                    hid_channels, out_channels, 1, bias=with_last_bias)
                if with_last_bn:
                    last_norm = dict(norm_cfg, affine=with_last_bn_affine)
                    layers[f'bn{i}'] = build_norm_layer(
                        last_norm, out_channels)[1]
        self.mlp = nn.Sequential(layers)

    def forward(self, x: Tuple[torch.Tensor]) -> Tuple[torch.Tensor]:
        """Project every location of a feature map.

        Args:
            x (tuple[torch.Tensor]): A tuple of length 1 holding a
                (B, in_channels, H, W) map, e.g. a backbone's last stage.

        Returns:
            tuple[torch.Tensor]: A tuple of length 1 holding the
            (B, out_channels, H, W) projection (channels-last strides when
            ``channels_last``).
        """
        if len(x) != 1:
            raise ValueError(
                f'SpatialBYOLNeck takes a tuple of one map, got {len(x)}')
        x = x[0]
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return (self.mlp(x), )
