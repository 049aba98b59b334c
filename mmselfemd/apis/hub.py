# Copyright (c) mmselfemd contributors. All rights reserved.
"""The model zoo for users: fetch a checkpoint by name or URL and load it.

The mechanism (cache, SHA-256 verification, resumable download, the
``zoo://`` scheme) lives in :mod:`mmselfemd.utils.checkpoint_download` and
:mod:`mmselfemd.utils.checkpoint_schemes`, below the engine that uses it;
this module is the user-facing entry. See ``docs/en/model_zoo.md``.
"""
from typing import Any, Optional, Union

import torch

from mmselfemd.utils.checkpoint_download import (
    ChecksumMismatchError,
    download_checkpoint,
    get_cache_dir,
    hash_prefix_from_filename,
    sha256_file,
)
from mmselfemd.utils.resumable_download import CheckpointDownloadError
from mmselfemd.utils.safe_load import load_checkpoint_safe

__all__ = [
    'CheckpointDownloadError', 'ChecksumMismatchError', 'download_checkpoint',
    'get_cache_dir', 'hash_prefix_from_filename', 'load_zoo_checkpoint',
    'sha256_file'
]


def load_zoo_checkpoint(name_or_url: str,
                        map_location: Optional[Union[str,
                                                     torch.device]] = 'cpu',
                        **kwargs) -> Any:
    """Download (see :func:`download_checkpoint`) and load weights-only.

    Args:
        name_or_url (str): Zoo name, ``zoo://NAME``, URL or local path.
        map_location (str | torch.device, optional): As in
            :func:`torch.load`. Defaults to ``'cpu'``.
        **kwargs: ``cache_dir``, ``sha256``, ``progress``, ``model_index``
            and ``timeout`` of :func:`download_checkpoint`.

    Returns:
        Any: The checkpoint, usually a dict with ``state_dict``.

    Raises:
        UnsafeCheckpointError: If the checkpoint needs a global outside the
            weights-only allow-list; nothing in it is executed.
    """
    path = download_checkpoint(name_or_url, **kwargs)
    return load_checkpoint_safe(path, map_location=map_location)
