# Copyright (c) mmselfemd contributors. All rights reserved.
from typing import List, Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop
from torch import nn

from mmselfemd.models.utils import (
    IgnoreKeys,
    PretrainedBackboneError,
    check_backbone_checkpoint,
    split_shared_head_keys,
)
from mmselfemd.registry import HOOKS
from mmselfemd.utils.checkpoint_download import DOWNLOAD_ERRORS, ZOO_PREFIX
from mmselfemd.utils.checkpoint_schemes import (
    enable_hub_checkpoints,
    verified_local_file,
)

from .c4_shared_head_check import (
    check_random_shared_head,
    check_shared_head_follows,
    pretrained_cfgs,
)

#: Default of ``{{$MMSELFEMD_PRETRAINED:...}}`` in the transfer configs
#: (mmengine refuses an empty default): "no checkpoint was given".
NO_CHECKPOINT = 'MMSELFEMD_PRETRAINED-is-not-set'
_HOW_TO_SET = (
    'Give the checkpoint with `--cfg-options '
    'model.backbone.init_cfg.checkpoint=PATH` or the environment variable '
    '`MMSELFEMD_PRETRAINED=PATH`.')


@HOOKS.register_module()
class PretrainedBackboneCheckHook(Hook):
    """Stop a transfer run that would not start from the pretrained backbone.

    MMDetection's base configs initialise the backbone from ImageNet weights
    (``torchvision://resnet50``), so a transfer config that forgets the
    self-supervised checkpoint silently measures those. In ``before_run``
    of a training run, before ``init_weights()``, the hook refuses a
    backbone whose ``init_cfg`` is not ``Pretrained`` from a local file or
    a verified address (``zoo://``, ``http(s)://``, ``file://`` with a known
    SHA-256), or whose file's keys and shapes differ from the backbone's
    (:func:`~mmselfemd.models.utils.check_backbone_checkpoint`). A remote
    file is downloaded and verified first; ``zoo://`` then loads at
    ``init_weights()`` through the ``zoo://`` scheme, which the hook
    registers, and a URL is replaced by the verified file, as mmengine's
    own http loader checks no hash. A C4 detector's res5
    (``shared_head_attr``) is checked and loaded with the backbone. See
    ``docs/en/user_guides/detection_transfer.md``.

    Args:
        allow_random_init (bool): Let a backbone *without* a ``Pretrained``
            ``init_cfg`` train from random initialisation (the random-init
            baseline). Defaults to False.
        backbone_attr (str): Attribute of the model holding the backbone.
            Defaults to ``'backbone'``.
        shared_head_attr (str, optional): Dotted attribute path of a C4
            detector's shared RoI head, which holds res5 (see
            :mod:`.c4_shared_head_check`). Defaults to
            ``'roi_head.shared_head'``.
    """

    priority = 'VERY_HIGH'

    def __init__(self,
                 allow_random_init: bool = False,
                 backbone_attr: str = 'backbone',
                 shared_head_attr: Optional[str] = 'roi_head.shared_head'
                 ) -> None:
        self.allow_random_init = allow_random_init
        self.backbone_attr = backbone_attr
        self.shared_head_attr = shared_head_attr
        self._passed: Optional[nn.Module] = None  # checked once per run
        self._ignore_handles: List[object] = []  # until before_train
        # mmdet's tools import only this module (custom_imports), and a
        # zoo:// init_cfg loads through the scheme at init_weights()
        enable_hub_checkpoints()

    def before_run(self, runner) -> None:
        """Check the backbone before a training run (not test/val)."""
        if isinstance(getattr(runner, '_train_loop', None), BaseLoop):
            self.check(runner.model, logger=runner.logger)

    def before_train(self, runner) -> None:
        """Stop ignoring keys once ``init_weights()`` has loaded the file."""
        for handle in self._ignore_handles:
            handle.remove()
        self._ignore_handles.clear()

    def check(self, model: nn.Module, logger=None) -> None:
        """Check ``model``'s backbone (and C4 shared head) once per model.

        Args:
            model (nn.Module): The built model (wrappers are unwrapped).
            logger (logging.Logger, optional): Where to report success.

        Raises:
            PretrainedBackboneError: As described in the class docstring.
        """
        model = model.module if is_model_wrapper(model) else model
        backbone = getattr(model, self.backbone_attr, None)
        if not isinstance(backbone, nn.Module):
            raise PretrainedBackboneError(
                f'{type(self).__name__}: the model {type(model).__name__} '
                f'has no backbone module at `model.{self.backbone_attr}`.')
        if backbone is self._passed:
            return
        shared = self._shared_head(model)
        pretrained = pretrained_cfgs(getattr(backbone, 'init_cfg', None))
        if not pretrained:
            check_random_shared_head(shared, self.shared_head_attr)
            if not self.allow_random_init:
                raise PretrainedBackboneError(
                    'This transfer config needs a pretrained backbone, but '
                    "`model.backbone.init_cfg` has no `type='Pretrained'` "
                    f'entry (it is {getattr(backbone, "init_cfg", None)!r}).'
                    f' {_HOW_TO_SET} For the random-init baseline use the '
                    '`*-scratch_*` config.')
            if logger is not None:
                logger.warning('The backbone is randomly initialised '
                               '(allow_random_init=True).')
        for cfg in pretrained:
            self._check_pretrained(backbone, shared, cfg, logger)
        self._passed = backbone

    def _check_pretrained(self, backbone: nn.Module,
                          shared: Optional[nn.Module], cfg: dict,
                          logger) -> None:
        """Check one ``Pretrained`` entry; point the model at its file."""
        checkpoint = str(cfg.get('checkpoint') or NO_CHECKPOINT)
        if checkpoint == NO_CHECKPOINT:
            raise PretrainedBackboneError(
                'No pretrained backbone checkpoint was given, and this '
                'transfer config refuses to start without one (it never '
                'falls back to ImageNet `torchvision://resnet50` weights). '
                f'{_HOW_TO_SET} The file is an mmselfemd pretraining '
                'checkpoint (keys under "backbone.") or, with '
                '`model.backbone.init_cfg.prefix=None`, the output of '
                'tools/model_converters/extract_backbone_weights.py.')
        if shared is not None:
            check_shared_head_follows(shared, cfg, self.shared_head_attr)
        try:
            local = verified_local_file(checkpoint)
        except DOWNLOAD_ERRORS as e:
            raise PretrainedBackboneError(
                f'The pretrained backbone checkpoint "{checkpoint}" was not '
                f'used: {e} {_HOW_TO_SET}') from e
        try:
            head = check_backbone_checkpoint(backbone, local,
                                             cfg.get('prefix'), shared)
        except PretrainedBackboneError as e:
            if local == checkpoint:
                raise
            raise PretrainedBackboneError(
                f'{e} (The file was downloaded from "{checkpoint}" and its '
                'SHA-256 verified.)') from e
        if not checkpoint.startswith(ZOO_PREFIX):
            cfg['checkpoint'] = local  # mmengine's http loader is unverified
        parts, new = [backbone], []
        if shared is None:
            self._ignore(backbone, head)
        else:
            # res5 from the same file and prefix; each part ignores the
            # other's keys, and the head's own layers are not in the file
            shared.init_cfg = dict(cfg)
            stage, new = split_shared_head_keys(shared)
            self._ignore(backbone, head + list(stage))
            self._ignore(shared, head + list(backbone.state_dict()), new)
            parts.append(shared)
        if logger is not None:
            logger.info(self._passed_message(parts, cfg, checkpoint, local,
                                             head, new))

    def _passed_message(self, parts: List[nn.Module], cfg: dict,
                        checkpoint: str, local: str, head: List[str],
                        new: List[str]) -> str:
        names = ' + '.join(type(m).__name__ for m in parts)
        keys = sum(len(m.state_dict()) for m in parts) - len(new)
        where = ('' if local == checkpoint else
                 f', downloaded and verified as "{local}"')
        res5 = ('' if len(parts) == 1 else
                f' (model.backbone + model.{self.shared_head_attr}, which '
                'loads res5 from the same file)')
        ignored = ('' if not head else
                   f' Its classifier head ({", ".join(head)}), which {names} '
                   'does not have, is not loaded.')
        fresh = ('' if not new else
                 f" The shared head's own keys ({', '.join(new)}), not part "
                 'of a ResNet, keep their initialisation.')
        return (f'Pretrained backbone check passed: {keys} keys of '
                f'"{checkpoint}"{where} (prefix "{cfg.get("prefix") or ""}") '
                f'match {names}{res5}.{ignored}{fresh}')

    def _shared_head(self, model: nn.Module) -> Optional[nn.Module]:
        """The module at ``shared_head_attr`` (None if absent)."""
        module = model
        for name in (self.shared_head_attr or '').split('.'):
            module = getattr(module, name, None) if name else None
        return module if isinstance(module, nn.Module) else None

    def _ignore(self, module: nn.Module, keys: List[str],
                missing: Optional[List[str]] = None) -> None:
        """Have ``module.load_state_dict`` ignore ``keys`` (unexpected) and
        ``missing`` until ``before_train``."""
        if keys or missing:
            self._ignore_handles.append(
                module.register_load_state_dict_post_hook(
                    IgnoreKeys(keys, missing or ())))
