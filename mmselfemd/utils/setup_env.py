# Copyright (c) mmselfemd contributors. All rights reserved.
import datetime
import warnings

from mmengine import DefaultScope

from .checkpoint_compat import allow_legacy_checkpoints


def register_all_modules(init_default_scope: bool = True) -> None:
    """Register all modules in mmselfemd and set up checkpoint loading.

    Besides importing the modules (which registers them), this is where
    mmselfemd changes how checkpoints load in the process, and nothing
    does at import: torch's weights-only allow-list gains
    :data:`~mmselfemd.utils.LEGACY_CHECKPOINT_GLOBALS`, so checkpoints
    that plain mmengine or earlier mmselfemd versions wrote resume through
    mmengine's loader (a pickle that runs code is still refused), and
    mmengine's ``CheckpointLoader`` learns the ``zoo://NAME`` scheme. See
    ``docs/en/get_started.md`` (Checkpoints and torch >= 2.6).

    Args:
        init_default_scope (bool): Whether to initialise the mmselfemd
            default scope. When True, the global default scope is set to
            mmselfemd and all registries build modules from mmselfemd's
            registry node first, falling back to mmpretrain's and mmengine's.
            Defaults to True.
    """
    import mmselfemd.datasets  # noqa: F401,F403
    import mmselfemd.engine  # noqa: F401,F403
    import mmselfemd.evaluation  # noqa: F401,F403
    import mmselfemd.models  # noqa: F401,F403
    import mmselfemd.visualization  # noqa: F401,F403

    from .checkpoint_schemes import enable_hub_checkpoints

    # the process-wide checkpoint set-up (see above), never at import
    allow_legacy_checkpoints()
    enable_hub_checkpoints()

    if not init_default_scope:
        return

    current_scope = DefaultScope.get_current_instance()
    if current_scope is None:
        DefaultScope.get_instance('mmselfemd', scope_name='mmselfemd')
    elif current_scope.scope_name != 'mmselfemd':
        warnings.warn(
            f'The current default scope "{current_scope.scope_name}" '
            'is not "mmselfemd", `register_all_modules` will force '
            'the current default scope to be "mmselfemd". If this is not '
            'expected, please set `init_default_scope=False`.')
        # avoid name conflict
        new_instance_name = f'mmselfemd-{datetime.datetime.now()}'
        DefaultScope.get_instance(new_instance_name, scope_name='mmselfemd')
