# Copyright (c) mmselfemd contributors. All rights reserved.
"""mmengine checkpoint schemes for the model zoo and verified downloads.

:func:`enable_hub_checkpoints` registers ``zoo://NAME`` with mmengine's
:class:`~mmengine.runner.CheckpointLoader`, so that a config can write
``init_cfg=dict(type='Pretrained', checkpoint='zoo://NAME')``: the name is
resolved through the metafiles, downloaded and verified by
:func:`~mmselfemd.utils.checkpoint_download.download_checkpoint` and loaded
weights-only. Nothing is registered at import: ``register_all_modules()``
and ``PretrainedBackboneCheckHook`` call it. ``zoo://`` is a new prefix,
so no scheme that mmengine or MMDetection relies on changes; mmengine's
``http(s)://`` loader is replaced only on request (``verified_http=True``).
"""
import os.path as osp
import re
import sys
from typing import Any, Optional, Union

import mmengine.runner.checkpoint as mmengine_checkpoint
import torch
from mmengine.dist import barrier, get_dist_info
from mmengine.runner.checkpoint import CheckpointLoader

from .checkpoint_download import URL_SCHEMES, ZOO_PREFIX, download_checkpoint
from .safe_load import load_checkpoint_safe

MapLocation = Optional[Union[str, torch.device]]


def download_rank0_first(name_or_url: str,
                         progress: bool,
                         cache_dir: Optional[str] = None,
                         **kwargs) -> str:
    """Download on rank 0 first, then let the other ranks hit the cache.

    mmengine's ``load_from_http`` orders the ranks the same way, but around
    torch.hub's ``load_url`` (see :mod:`.checkpoint_download` for why that
    falls short), so the order is kept here around our download.

    Args:
        name_or_url (str): As in
            :func:`~mmselfemd.utils.checkpoint_download.download_checkpoint`.
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
        barrier()
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
            :func:`~mmselfemd.utils.checkpoint_download.get_cache_dir`.
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

    Idempotent.

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


#: Addresses that :func:`verified_local_file` downloads and verifies.
VERIFIED_PREFIXES = (ZOO_PREFIX, ) + tuple(f'{s}://' for s in URL_SCHEMES)
_ADDRESS = re.compile(r'^[a-zA-Z][a-zA-Z0-9+.-]*://')


def verified_local_file(checkpoint: str) -> str:
    """The local file of a checkpoint address, downloaded and verified.

    Args:
        checkpoint (str): A local path, or an address of
            :data:`VERIFIED_PREFIXES` whose SHA-256 is known (metafile or
            ``-hash8`` file name suffix).

    Returns:
        str: ``checkpoint`` itself for a local path, else the verified
        file in the cache (downloaded rank 0 first).

    Raises:
        FileNotFoundError: If a local path is no file.
        ValueError: If the address is of another scheme (mmengine's
            ``torchvision://``, ``s3://``...), or its hash is not known.
        Exception: One of ``DOWNLOAD_ERRORS`` when the download fails.
    """
    if not _ADDRESS.match(checkpoint):
        if not osp.isfile(osp.expanduser(checkpoint)):
            raise FileNotFoundError(
                f'The checkpoint "{checkpoint}" does not exist or is not a '
                'file.')
        return checkpoint
    if not checkpoint.startswith(VERIFIED_PREFIXES):
        raise ValueError(
            f'The checkpoint "{checkpoint}" is a remote or model-zoo address '
            'that mmselfemd does not verify; give a local path or '
            f'{", ".join(VERIFIED_PREFIXES)} (downloaded and SHA-256 '
            'verified first).')
    return download_rank0_first(
        checkpoint, progress=sys.stderr.isatty(), require_sha256=True)
