# Copyright (c) mmselfemd contributors. All rights reserved.
from .checkpoint_compat import (
    LEGACY_CHECKPOINT_GLOBALS,
    allow_legacy_checkpoints,
    legacy_checkpoint_globals,
)
from .collect_env import collect_env
from .portable_checkpoint import make_checkpoint_portable, restore_message_hub
from .progress import LineProgress, progress
from .safe_load import UnsafeCheckpointError, load_checkpoint_safe
from .setup_env import register_all_modules
from .user_errors import (
    USER_ERRORS,
    add_debug_argument,
    describe_user_error,
    run_cli,
)

__all__ = [
    'register_all_modules', 'collect_env', 'allow_legacy_checkpoints',
    'legacy_checkpoint_globals', 'load_checkpoint_safe',
    'UnsafeCheckpointError', 'LEGACY_CHECKPOINT_GLOBALS',
    'make_checkpoint_portable', 'restore_message_hub', 'USER_ERRORS',
    'add_debug_argument', 'describe_user_error', 'run_cli', 'LineProgress',
    'progress'
]
