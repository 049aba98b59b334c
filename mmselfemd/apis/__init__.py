# Copyright (c) mmselfemd contributors. All rights reserved.
from mmselfemd.utils.checkpoint_schemes import (
    download_rank0_first,
    enable_hub_checkpoints,
    load_from_verified_http,
    load_from_zoo,
)
from mmselfemd.utils.model_index import (
    UnknownZooModelError,
    ZooModel,
    find_model_index,
    get_zoo_model,
    load_model_index,
)

from .hub import (
    CheckpointDownloadError,
    ChecksumMismatchError,
    download_checkpoint,
    get_cache_dir,
    hash_prefix_from_filename,
    load_zoo_checkpoint,
    sha256_file,
)

__all__ = [
    'CheckpointDownloadError', 'ChecksumMismatchError', 'UnknownZooModelError',
    'ZooModel', 'download_checkpoint', 'download_rank0_first',
    'enable_hub_checkpoints', 'find_model_index', 'get_cache_dir',
    'get_zoo_model', 'hash_prefix_from_filename', 'load_from_verified_http',
    'load_from_zoo', 'load_model_index', 'load_zoo_checkpoint', 'sha256_file'
]
