# Copyright (c) mmselfemd contributors. All rights reserved.
from .apis.checkpoint_schemes import enable_hub_checkpoints
from .utils.checkpoint_compat import allow_legacy_checkpoints
from .version import __version__, version_info

# The only process-wide changes of `import mmselfemd` (docs/en/model_zoo.md):
# checkpoints of earlier mmselfemd versions stay weights-only loadable
# (utils/checkpoint_compat.py), and mmengine's CheckpointLoader learns the
# new zoo://NAME scheme (apis/checkpoint_schemes.py). mmengine's local and
# http(s) loaders are left as they are.
allow_legacy_checkpoints()
enable_hub_checkpoints()

__all__ = ['__version__', 'version_info']
