# Copyright (c) mmselfemd contributors. All rights reserved.
"""Pieces shared by the scripts of ``tools/analysis_tools``.

Not a script: ``benchmark_step.py``, ``benchmark_pipeline.py`` and
``gpu_check.py`` import it from their own folder. Building the models of
a training step from the real configs (SyncBN reverted to BN for one
process), the optimizer wrapper of the real schedule, batches of views
cut from real photographs, step timing, and JPEGs of COCO size.

Paths of configs are resolved relative to this file: ``configs/`` sits two
folders up both in a checkout and in an installed package (``.mim/``).
"""
import copy
import os
import os.path as osp
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SELFEMD_MODEL_CFG = osp.join(REPO, 'configs', '_base_', 'models',
                             'selfemd_resnet50.py')
BYOL_CFG = osp.join(REPO, 'configs', 'selfemd',
                    'byol_resnet50_8xb32-coslr-800e_coco.py')
SCHEDULE_CFG = osp.join(REPO, 'configs', '_base_', 'schedules',
                        'lars_coslr-800e.py')
# scikit-image photographs that views are cut from (make_batch)
SKIMAGE_IMAGES = ('astronaut', 'coffee', 'chelsea', 'rocket',
                  'hubble_deep_field', 'retina')
# photographs re-encoded as COCO-size JPEGs (make_coco_size_jpegs)
PHOTOS = ('astronaut', 'coffee', 'chelsea', 'rocket', 'hubble_deep_field',
          'immunohistochemistry', 'retina', 'camera')


def mmpretrain_byol_cfg() -> str:
    """Path of mmpretrain's own BYOL recipe, shipped with the package.

    (The ``'mmpretrain::'`` form needs ``pkg_resources``, which
    setuptools >= 81 lacks.)
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
        byol_cfg (str): Config file with the BYOL ``model``.
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


def schedule_optim_cfg(schedule_cfg: str = SCHEDULE_CFG) -> dict:
    """``optim_wrapper`` of a schedule config (LARS with BYOL's rules)."""
    from mmengine.config import Config
    return Config.fromfile(schedule_cfg).optim_wrapper.to_dict()


def build_optim(model: torch.nn.Module,
                optim_cfg: Optional[dict] = None,
                dtype: Optional[str] = None):
    """The optimizer wrapper of the real schedule, optionally with AMP.

    Args:
        model (torch.nn.Module): The model.
        optim_cfg (dict, optional): ``optim_wrapper`` config; None reads
            ``configs/_base_/schedules/lars_coslr-800e.py``.
        dtype (str, optional): None for full precision, else the autocast
            dtype (``'float16'`` or ``'bfloat16'``): mmengine's
            ``AmpOptimWrapper`` on CUDA (dynamic loss scaling), mmselfemd's
            ``CPUAmpOptimWrapper`` on CPU (bfloat16 only).

    Returns:
        OptimWrapper: The wrapper.
    """
    from mmengine.optim import build_optim_wrapper
    cfg = copy.deepcopy(optim_cfg or schedule_optim_cfg())
    if dtype is not None:
        on_cuda = next(model.parameters()).is_cuda
        cfg['type'] = 'AmpOptimWrapper' if on_cuda else 'CPUAmpOptimWrapper'
        cfg['dtype'] = dtype
        if on_cuda:
            cfg.setdefault('loss_scale', 'dynamic')
    return build_optim_wrapper(model, cfg)


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


def time_step(step: Callable[[], object],
              device: torch.device) -> Tuple[float, float]:
    """Wall time and CPU time of one call of ``step``.

    The CPU time is that of this process, all its threads. On a shared CPU
    it is the robust measure with one thread: it does not count the time
    the process waits for a core. On CUDA the device is synchronised
    before and after, so the wall time covers the queued kernels.

    Args:
        step (Callable): The work.
        device (torch.device): Its device.

    Returns:
        tuple[float, float]: Seconds of wall time and of CPU time.
    """
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    wall, cpu = time.perf_counter(), time.process_time()
    step()
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    return time.perf_counter() - wall, time.process_time() - cpu


def cuda_event_seconds(fn: Callable[[], object]) -> float:
    """Seconds of one call of ``fn`` between two CUDA events.

    The events are recorded on the current stream around the call; host
    work inside ``fn`` (and copies to the host) falls between them and is
    counted, as the GPU sits idle at the end event until it is recorded.

    Args:
        fn (Callable): The work.

    Returns:
        float: Elapsed seconds.
    """
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    start.record()
    fn()
    end.record()
    end.synchronize()
    return start.elapsed_time(end) / 1e3


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
