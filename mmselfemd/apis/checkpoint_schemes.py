# Copyright (c) mmselfemd contributors. All rights reserved.
"""mmengine checkpoint schemes for the model zoo and verified downloads.

:func:`enable_hub_checkpoints` (called by ``import mmselfemd``) registers
``zoo://NAME`` with mmengine's :class:`~mmengine.runner.CheckpointLoader`:
a model zoo name, resolved through the metafiles
(:mod:`mmselfemd.apis.model_index`), downloaded by
:func:`~mmselfemd.apis.hub.download_checkpoint` (cache, SHA-256
verification, weights-only check, atomic rename) and loaded weights-only.
So a config can write::

    model = dict(backbone=dict(init_cfg=dict(
        type='Pretrained', checkpoint='zoo://NAME')))

``zoo://`` is a new prefix: no scheme that mmengine, MMDetection or a user
already relies on changes when mmselfemd is imported. mmengine's own
``http(s)://`` loader (and ``torchvision://``, ``open-mmlab://``, which
call it) stay as they are; :func:`load_from_verified_http` replaces it
only where a program asks for it, with
``enable_hub_checkpoints(verified_http=True)``. The detection-transfer
configs need neither: their ``PretrainedBackboneCheckHook`` downloads and
verifies a remote backbone itself and points the config at the local file.
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


def download_rank0_first(name_or_url: str,
                         progress: bool,
                         cache_dir: Optional[str] = None,
                         **kwargs) -> str:
    """Download on rank 0 first, then let the other ranks hit the cache.

    Args:
        name_or_url (str): As in
            :func:`~mmselfemd.apis.hub.download_checkpoint`.
        progress (bool): Show progress (rank 0 only).
        cache_dir (str, optional): Cache directory.
        **kwargs: Further arguments of ``download_checkpoint``.

    Returns:
        str: Path of the verified file.
    """
    rank, world_size = get_dist_info()
    path = None
    if rank == 0:
        path = download_checkpoint(name_or_url, cache_dir=cache_dir,
                                   progress=progress, **kwargs)
    if world_size > 1:
        torch.distributed.barrier()
        if rank > 0:
            # Same file system: a verified cache hit. Otherwise (another
            # node) a download of its own, serialised by the file lock.
            path = download_checkpoint(name_or_url, cache_dir=cache_dir,
                                       progress=False, **kwargs)
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
    path = download_rank0_first(filename, progress=sys.stderr.isatty())
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
    path = download_rank0_first(filename, progress=progress,
                                 cache_dir=model_dir)
    return load_checkpoint_safe(path, map_location=map_location)


def enable_hub_checkpoints(verified_http: bool = False) -> None:
    """Register the ``zoo://`` scheme (and, on request, verified http).

    Idempotent; ``import mmselfemd`` calls it without arguments.

    Args:
        verified_http (bool): Also replace mmengine's ``http://`` /
            ``https://`` loader (and the ``load_from_http`` that its
            ``torchvision://`` / ``open-mmlab://`` schemes call) by
            :func:`load_from_verified_http`, for the whole process. mmengine's
            own loader downloads into torch's hub cache without checking the
            hash and unpickles with ``weights_only=False``. Defaults to False.
    """
    CheckpointLoader.register_scheme(
        prefixes=ZOO_PREFIX, loader=load_from_zoo, force=True)
    if verified_http:
        CheckpointLoader.register_scheme(
            prefixes=('http://', 'https://'),
            loader=load_from_verified_http,
            force=True)
        mmengine_checkpoint.load_from_http = load_from_verified_http
