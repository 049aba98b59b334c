# Copyright (c) mmselfemd contributors. All rights reserved.
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Register all modules in mmselfemd into the registries.

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
