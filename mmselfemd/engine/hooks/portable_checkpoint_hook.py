# Copyright (c) mmselfemd contributors. All rights reserved.
"""Write checkpoints that load weights-only anywhere, and resume them."""
import logging

from mmengine.hooks import Hook
from mmengine.logging import print_log

from mmselfemd.registry import HOOKS
from mmselfemd.utils.checkpoint_compat import allow_legacy_checkpoints
from mmselfemd.utils.portable_checkpoint import (
    make_checkpoint_portable,
    restore_message_hub,
)


@HOOKS.register_module()
class PortableCheckpointHook(Hook):
    """Save checkpoints as plain data; restore the message hub on resume.

    ``before_save_checkpoint`` rewrites the checkpoint with
    :func:`~mmselfemd.utils.portable_checkpoint.make_checkpoint_portable`:
    the message hub's ``HistoryBuffer`` objects become tensors in a dict,
    numpy scalars Python scalars. The file then loads with plain
    ``torch.load`` (weights-only, torch's default) and with mmengine's
    loader in a Python where mmselfemd is not installed. An object that
    cannot be made plain (e.g. a custom class put into the message hub) is
    kept and named in a warning, once per key.

    ``after_load_checkpoint`` (called by ``Runner.resume`` and
    ``Runner.load_checkpoint`` before the message hub is loaded) turns the
    buffers back into ``HistoryBuffer`` objects, so the logged history
    resumes too.

    The mmselfemd configs list it in ``default_hooks``::

        default_hooks = dict(
            portable_checkpoint=dict(type='PortableCheckpointHook'))

    and the MMDetection transfer configs with ``_scope_='mmselfemd'``.
    Its priority is ``VERY_LOW``, so that it sees what other hooks add to
    the checkpoint.
    """

    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self._warned = set()

    def before_run(self, runner) -> None:
        """Allow-list the few globals of older checkpoints (plain mmengine,
        earlier mmselfemd), so a run started by a tool that does not call
        ``register_all_modules`` (e.g. MMDetection's ``tools/train.py``)
        resumes them too; mmengine resumes after ``before_run``."""
        allow_legacy_checkpoints()

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Make ``checkpoint`` plain data, in place."""
        for path, kind in make_checkpoint_portable(checkpoint):
            if path in self._warned:
                continue
            self._warned.add(path)
            print_log(
                f'PortableCheckpointHook: checkpoint entry "{path}" is a '
                f'{kind}, which torch cannot load weights-only without '
                'allow-listing it (and nothing can load without its '
                'package); keep only tensors and plain Python data there.',
                logger='current',
                level=logging.WARNING)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Turn plain buffers back into ``HistoryBuffer`` objects."""
        restore_message_hub(checkpoint)


def add_portable_checkpoint_hook(cfg) -> bool:
    """Add :class:`PortableCheckpointHook` to a config that lacks it.

    ``tools/train.py`` calls it, so that every run it starts (a user's
    config, an mmdet-scoped one) writes checkpoints that load weights-only
    and resume.

    Args:
        cfg (mmengine.Config): The config, changed in place: the hook is
            added to ``default_hooks`` (with ``_scope_='mmselfemd'``) unless
            ``default_hooks`` or ``custom_hooks`` already hold one.

    Returns:
        bool: Whether the hook was added.
    """
    default_hooks = cfg.get('default_hooks', None) or {}
    hooks = list(default_hooks.values()) + list(
        cfg.get('custom_hooks', None) or [])
    for hook in hooks:
        kind = hook.get('type') if isinstance(hook, dict) else type(hook)
        if kind in (PortableCheckpointHook, 'PortableCheckpointHook',
                    'mmselfemd.PortableCheckpointHook'):
            return False
    cfg['default_hooks'] = dict(default_hooks)
    cfg['default_hooks']['portable_checkpoint'] = dict(
        type='PortableCheckpointHook', _scope_='mmselfemd')
    return True
