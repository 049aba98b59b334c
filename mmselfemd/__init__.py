# Copyright (c) mmselfemd contributors. All rights reserved.
from .apis.checkpoint_schemes import enable_hub_checkpoints
from .utils.checkpoint_compat import enable_safe_checkpoints
from .version import __version__, version_info

# Every entry point imports mmselfemd: make mmengine's checkpoints
# weights-only loadable on torch >= 2.6 (see utils/checkpoint_compat.py).
enable_safe_checkpoints()
# zoo://NAME and http(s):// checkpoints: downloaded, SHA-256 verified and
# loaded weights-only (see apis/checkpoint_schemes.py).
enable_hub_checkpoints()

__all__ = ['__version__', 'version_info']
