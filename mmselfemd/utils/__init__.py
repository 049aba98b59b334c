# Copyright (c) mmselfemd contributors. All rights reserved.
from .checkpoint_compat import (
                                LEGACY_CHECKPOINT_GLOBALS,
                                allow_legacy_checkpoints,
                                load_checkpoint_safe,
                                make_checkpoint_portable,
                                restore_message_hub,
)
from .setup_env import register_all_modules

__all__ = [
    'register_all_modules', 'allow_legacy_checkpoints',
    'load_checkpoint_safe', 'LEGACY_CHECKPOINT_GLOBALS',
    'make_checkpoint_portable', 'restore_message_hub'
]
