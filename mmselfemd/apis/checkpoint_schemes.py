# Copyright (c) mmselfemd contributors. All rights reserved.
"""mmengine checkpoint schemes for the model zoo and verified downloads.

:func:`enable_hub_checkpoints` (called by ``import mmselfemd``) registers

* ``zoo://NAME``: a model zoo name, resolved through the metafiles
  (:mod:`mmselfemd.apis.model_index`);
* ``http://`` and ``https://``, replacing mmengine's loader;

with mmengine's :class:`~mmengine.runner.CheckpointLoader`. Both download
through :func:`~mmselfemd.apis.hub.download_checkpoint` (cache, SHA-256
verification, atomic rename) and load weights-only, so a config can write::

    model = dict(backbone=dict(init_cfg=dict(
        type='Pretrained', checkpoint='zoo://NAME')))
    load_from = 'https://example.org/selfemd_r50_20250101-1a2b3c4d.pth'

mmengine's ``torchvision://``, ``open-mmlab://`` and ``mmcls://`` schemes
call ``mmengine.runner.checkpoint.load_from_http`` for their URLs; that
name is rebound to the verified loader too, so they benefit as well. Other
schemes (local paths, ``s3://``, ``pavi://``...) are left as they are.
"""
import sys
from typing import Any, Optional, Union

import mmengine.runner.checkpoint as mmengine_checkpoint
import torch
from mmengine.dist import get_dist_info
from mmengine.runner.checkpoint import CheckpointLoader

from mmselfemd.utils.checkpoint_compat import load_checkpoint_safe

from .hub import ZOO_PREFIX, download_checkpoint

MapLocation = Optional[Union[str, torch.device]]


def _download_rank0_first(name_or_url: str, progress: bool,
                          cache_dir: Optional[str] = None) -> str:
    """Download on rank 0 first, then let the other ranks hit the cache."""
    rank, world_size = get_dist_info()
    path = None
    if rank == 0:
        path = download_checkpoint(name_or_url, cache_dir=cache_dir,
                                   progress=progress)
    if world_size > 1:
        torch.distributed.barrier()
        if rank > 0:
            # Same file system: a verified cache hit. Otherwise (another
            # node) a download of its own, serialised by the file lock.
            path = download_checkpoint(name_or_url, cache_dir=cache_dir,
                                       progress=False)
    return path


def load_from_zoo(filename: str, map_location: MapLocation = None) -> Any:
    """mmengine ``CheckpointLoader`` scheme for ``zoo://NAME``.

    Args:
        filename (str): ``zoo://`` followed by a model zoo name.
        map_location (str | torch.device, optional): As in
            :func:`torch.load`.

    Returns:
        Any: The checkpoint, loaded weights-only.
    """
    if not filename.startswith(ZOO_PREFIX):
        raise ValueError(f'Expected a path starting with "{ZOO_PREFIX}", '
                         f'got "{filename}".')
    path = _download_rank0_first(filename, progress=sys.stderr.isatty())
    return load_checkpoint_safe(path, map_location=map_location)


def load_from_verified_http(filename: str,
                            map_location: MapLocation = None,
                            model_dir: Optional[str] = None,
                            progress: Optional[bool] = None) -> Any:
    """mmengine ``CheckpointLoader`` scheme for ``http(s)://`` URLs.

    Same signature as mmengine's ``load_from_http``, which it replaces.

    Args:
        filename (str): The URL.
        map_location (str | torch.device, optional): As in
            :func:`torch.load`.
        model_dir (str, optional): Cache directory. Defaults to
            :func:`~mmselfemd.apis.hub.get_cache_dir`.
        progress (bool, optional): Show progress on stderr. Defaults to
            whether stderr is a terminal.

    Returns:
        Any: The checkpoint, loaded weights-only.
    """
    if progress is None:
        progress = sys.stderr.isatty()
    path = _download_rank0_first(filename, progress=progress,
                                 cache_dir=model_dir)
    return load_checkpoint_safe(path, map_location=map_location)


def enable_hub_checkpoints() -> None:
    """Register the ``zoo://`` and verified ``http(s)://`` schemes.

    Idempotent; called by ``import mmselfemd``.
    """
    CheckpointLoader.register_scheme(
        prefixes=ZOO_PREFIX, loader=load_from_zoo, force=True)
    CheckpointLoader.register_scheme(
        prefixes=('http://', 'https://'), loader=load_from_verified_http,
        force=True)
    mmengine_checkpoint.load_from_http = load_from_verified_http
