# Copyright (c) mmselfemd contributors. All rights reserved.
from .checkpoint_compat import (
                                SAFE_CHECKPOINT_GLOBALS,
                                enable_safe_checkpoints,
                                load_checkpoint_safe,
)
from .setup_env import register_all_modules

__all__ = [
    'register_all_modules', 'enable_safe_checkpoints',
    'load_checkpoint_safe', 'SAFE_CHECKPOINT_GLOBALS'
]
