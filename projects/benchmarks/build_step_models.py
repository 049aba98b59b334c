# Copyright (c) mmselfemd contributors. All rights reserved.
"""The models of a training-step benchmark, from the real configs."""
import copy
import os.path as osp
from typing import Dict, Optional

import torch

from .project_path import project_path

SELFEMD_MODEL_CFG = project_path('configs', '_base_', 'models',
                                 'selfemd_resnet50.py')
BYOL_CFG = project_path('configs', 'selfemd',
                        'byol_resnet50_8xb32-coslr-800e_coco.py')


def mmpretrain_byol_cfg() -> str:
    """Path of mmpretrain's own BYOL recipe, shipped with the package.

    (The ``'mmpretrain::'`` form needs ``pkg_resources``, which
    setuptools >= 81 lacks.)

    Returns:
        str: The config file.
    """
    import mmpretrain
    return osp.join(
        osp.dirname(mmpretrain.__file__), '.mim', 'configs', 'byol',
        'byol_resnet50_16xb256-coslr-200e_in1k.py')


def adapt_depth(model_cfg: dict, depth: int) -> dict:
    """A copy of a model config with another ResNet depth.

    The 2048-channel inputs of the necks become 512 below ResNet-50.

    Args:
        model_cfg (dict): ``model`` of a config (ResNet backbone).
        depth (int): ResNet depth.

    Returns:
        dict: The adapted copy.
    """
    cfg = copy.deepcopy(model_cfg)
    cfg['backbone']['depth'] = depth
    in_channels = 2048 if depth >= 50 else 512

    def visit(node):
        if isinstance(node, dict):
            if node.get('in_channels') == 2048:
                node['in_channels'] = in_channels
            for value in node.values():
                visit(value)

    visit(cfg)
    return cfg


def load_model_cfgs(selfemd_cfg: str = SELFEMD_MODEL_CFG,
                    byol_cfg: str = BYOL_CFG,
                    depth: int = 50,
                    with_global: bool = True,
                    spatial_hid: Optional[int] = None) -> Dict[str, dict]:
    """Model configs of Self-EMD and BYOL from config files.

    BYOL's data preprocessor is replaced by Self-EMD's (the same
    normalisation), and its type is pinned to ``mmpretrain.BYOL``.

    Args:
        selfemd_cfg (str): Config file with the Self-EMD ``model``.
            Defaults to ``configs/_base_/models/selfemd_resnet50.py``.
        byol_cfg (str): Config file with the BYOL ``model``. Defaults to
            ``configs/selfemd/byol_resnet50_8xb32-coslr-800e_coco.py``.
        depth (int): ResNet depth. Defaults to 50.
        with_global (bool): Keep Self-EMD's global branch. Defaults to
            True.
        spatial_hid (int, optional): Hidden width of Self-EMD's spatial
            projector and predictor (None: the config's).

    Returns:
        dict[str, dict]: ``{'Self-EMD': cfg, 'BYOL': cfg}``.
    """
    from mmengine.config import Config
    selfemd = adapt_depth(Config.fromfile(selfemd_cfg).model.to_dict(),
                          depth)
    if not with_global:
        selfemd.update(global_neck=None, global_head=None)
    if spatial_hid is not None:
        selfemd['neck']['hid_channels'] = spatial_hid
        selfemd['head']['predictor']['hid_channels'] = spatial_hid
    byol = adapt_depth(Config.fromfile(byol_cfg).model.to_dict(), depth)
    byol['type'] = 'mmpretrain.BYOL'
    byol['data_preprocessor'] = copy.deepcopy(selfemd['data_preprocessor'])
    return {'Self-EMD': selfemd, 'BYOL': byol}


def build_model(model_cfg: dict, device: torch.device,
                seed: int = 0) -> torch.nn.Module:
    """Build, initialise and move a model; SyncBN becomes BN.

    One process: mmengine's ``revert_sync_batchnorm`` also converts the
    layers inside the EMA target.

    Args:
        model_cfg (dict): Model config (scope mmselfemd).
        device (torch.device): Target device.
        seed (int): Seed of the weight initialisation. Defaults to 0.

    Returns:
        torch.nn.Module: The model in training mode.
    """
    from mmengine.model import revert_sync_batchnorm

    from mmselfemd.registry import MODELS
    torch.manual_seed(seed)
    model = MODELS.build(copy.deepcopy(model_cfg))
    model.init_weights()
    return revert_sync_batchnorm(model).to(device).train()


def build_step_models(device: torch.device,
                      depth: int = 50,
                      byol_cfg: str = BYOL_CFG,
                      with_global: bool = True,
                      spatial_hid: Optional[int] = None
                      ) -> Dict[str, torch.nn.Module]:
    """Self-EMD (``selfemd_resnet50.py``) and BYOL, built on ``device``.

    Both get the same backbone and the same initialisation seed.

    Args:
        device (torch.device): Target device.
        depth (int): ResNet depth. Defaults to 50.
        byol_cfg (str): Config file of BYOL's ``model``: ours by default,
            or mmpretrain's own (:func:`mmpretrain_byol_cfg`).
        with_global (bool): Keep Self-EMD's global branch. Defaults to
            True.
        spatial_hid (int, optional): Hidden width of Self-EMD's spatial
            projector and predictor (None: the config's).

    Returns:
        dict[str, torch.nn.Module]: ``{'Self-EMD': model, 'BYOL': model}``
        in training mode.
    """
    cfgs = load_model_cfgs(SELFEMD_MODEL_CFG, byol_cfg, depth, with_global,
                           spatial_hid)
    return {name: build_model(cfg, device) for name, cfg in cfgs.items()}


def set_max_iters(max_iters: int, hub_name: str = 'benchmark') -> None:
    """Tell the models how long the run is, as the runner would.

    ``CosineEMA`` (the target network's momentum) reads ``max_iters``
    from the current ``MessageHub``; outside a runner it must be set.

    Args:
        max_iters (int): Iterations of the (notional) run.
        hub_name (str): Name of the ``MessageHub`` instance (created if
            missing). Defaults to ``'benchmark'``.
    """
    from mmengine.logging import MessageHub
    MessageHub.get_instance(hub_name).update_info('max_iters', max_iters)
