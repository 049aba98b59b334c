# Copyright (c) mmselfemd contributors. All rights reserved.
from .utils.checkpoint_compat import enable_safe_checkpoints
from .version import __version__, version_info

# Every entry point imports mmselfemd: make mmengine's checkpoints
# weights-only loadable on torch >= 2.6 (see utils/checkpoint_compat.py).
enable_safe_checkpoints()

__all__ = ['__version__', 'version_info']
