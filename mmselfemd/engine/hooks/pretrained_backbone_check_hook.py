# Copyright (c) mmselfemd contributors. All rights reserved.
"""Refuse a detection-transfer run whose backbone is not the pretrained one.

MMDetection's base configs initialise the ResNet backbone from
``torchvision://resnet50`` (ImageNet, supervised). A transfer benchmark that
forgets to point ``model.backbone.init_cfg`` at the self-supervised
checkpoint therefore *silently* measures ImageNet weights. The hook below
checks, before any weight is initialised, that the built model's backbone
will be loaded from a checkpoint whose backbone keys and shapes match the
model exactly, and stops the run with one clear paragraph otherwise. A
remote checkpoint (``zoo://NAME``, ``http(s)://``, ``file://``) is first
downloaded, verified (SHA-256 known from the file name's ``-hash8`` suffix
or the metafile; loads weights-only) and checked as a local file, and the
config is pointed at that verified file, so that what is loaded is what was
checked.

The one extra a checkpoint may hold is the classification head of a
supervised ResNet classifier, ``fc.weight``/``fc.bias`` of torchvision's
``resnet50-0676ba61.pth`` (mmpretrain's classifiers keep theirs under
``head.``, outside the ``backbone.`` prefix): accepted only when the
backbone has no such keys and their shapes are those of a linear classifier
on the backbone's output features. mmengine's ``load_state_dict`` is then
told to ignore exactly these keys, so that it does not warn that the model
and the checkpoint "do not match".

A C4 detector (Faster R-CNN R50-C4) splits the ResNet: the stem and stages
1-3 are ``model.backbone``, the 4th stage (res5) is the RoI head's shared
head (``model.roi_head.shared_head``, mmdet's ``ResLayer``). The C4 configs
give the shared head the checkpoint :data:`SAME_AS_BACKBONE`; the hook then
checks the two parts together against the backbone's checkpoint, key for
key, and has the shared head load res5 from that (verified) file, so that
the checkpoint is given once, as for an FPN detector.

It is a hook (and not a check in ``tools/train.py``) so that every entry
point that builds a runner from the config is covered: ``tools/train.py``,
``mim train mmdet``, MMDetection's own ``tools/train.py``.
"""
import os.path as osp
import re
import sys
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch import nn

from mmselfemd.apis import (
    CheckpointDownloadError,
    ChecksumMismatchError,
    UnknownZooModelError,
    download_rank0_first,
)
from mmselfemd.apis.hub import URL_SCHEMES, ZOO_PREFIX
from mmselfemd.registry import HOOKS
from mmselfemd.utils.checkpoint_compat import (
    UnsafeCheckpointError,
    load_checkpoint_safe,
)

#: Default of the ``{{$MMSELFEMD_PRETRAINED:...}}`` substitution in the
#: transfer configs. mmengine refuses an empty default, so the configs use
#: this marker, which the hook reads as "no checkpoint was given".
NO_CHECKPOINT = 'MMSELFEMD_PRETRAINED-is-not-set'

#: ``checkpoint`` of ``model.roi_head.shared_head.init_cfg`` in the C4
#: transfer configs: res5 is loaded from the file (and with the prefix) of
#: the backbone's ``init_cfg``, which the hook copies there once checked.
#: Without the hook mmengine cannot load it and stops.
SAME_AS_BACKBONE = 'same-as-model.backbone.init_cfg'

_HOW_TO_SET = (
    'Give the checkpoint with `--cfg-options '
    'model.backbone.init_cfg.checkpoint=PATH` or the environment variable '
    '`MMSELFEMD_PRETRAINED=PATH`.')

_REMOTE = re.compile(r'^[a-zA-Z][a-zA-Z0-9+.-]*://')
#: Remote addresses that are downloaded and verified before the check.
VERIFIED_SCHEMES = (ZOO_PREFIX, ) + tuple(f'{s}://' for s in URL_SCHEMES)


class PretrainedBackboneError(RuntimeError):
    """The transfer run would not start from the pretrained backbone."""


def _pretrained_cfgs(init_cfg) -> List[dict]:
    """Return the ``type='Pretrained'`` entries of an ``init_cfg``."""
    if init_cfg is None:
        return []
    cfgs = init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]
    return [
        cfg for cfg in cfgs
        if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained'
    ]


def _shape(value) -> Optional[Tuple[int, ...]]:
    return tuple(value.shape) if isinstance(value, torch.Tensor) else None


def _select_keys(state_dict: Dict[str, torch.Tensor],
                 prefix: Optional[str]) -> Dict[str, torch.Tensor]:
    """Select the keys mmengine's ``PretrainedInit`` would load.

    Mirrors ``mmengine.runner.checkpoint._load_checkpoint_with_prefix``
    (with a prefix) and ``load_checkpoint``'s ``^module\\.`` revision
    (without one).
    """
    if prefix:
        if not prefix.endswith('.'):
            prefix += '.'
        return {
            k[len(prefix):]: v
            for k, v in state_dict.items() if k.startswith(prefix)
        }
    return {re.sub(r'^module\.', '', k): v for k, v in state_dict.items()}


_RESNET_DEPTHS = {
    ((2, 2, 2, 2), False): 18,
    ((3, 4, 6, 3), False): 34,
    ((3, 4, 6, 3), True): 50,
    ((3, 4, 23, 3), True): 101,
    ((3, 8, 36, 3), True): 152,
}


def _describe_resnet(keys) -> str:
    """Describe the ResNet layout of state-dict keys, '' if none."""
    blocks = []
    for stage in range(1, 5):
        ids = {
            int(m.group(1))
            for k in keys for m in [re.match(rf'layer{stage}\.(\d+)\.', k)]
            if m
        }
        blocks.append(max(ids) + 1 if ids else 0)
    if not any(blocks):
        return ''
    bottleneck = 'layer1.0.conv3.weight' in keys
    depth = _RESNET_DEPTHS.get((tuple(blocks), bottleneck))
    kind = 'bottleneck' if bottleneck else 'basic'
    name = f'ResNet-{depth}' if depth else 'ResNet'
    return f'{name} ({tuple(blocks)} {kind} blocks per stage)'


#: Keys of the classifier head of torchvision's (and mmpretrain's) ResNet
#: classifiers, relative to the network that holds the backbone's layers.
CLASSIFIER_HEAD_KEYS = ('fc.weight', 'fc.bias')


def _feature_width(backbone: Optional[nn.Module],
                   expected: Dict[str, torch.Tensor]) -> Optional[int]:
    """Channels of the backbone's last stage (a classifier's input)."""
    feat_dim = getattr(backbone, 'feat_dim', None)
    if isinstance(feat_dim, int):
        return feat_dim
    convs = [v for v in expected.values() if v.dim() == 4]
    return int(convs[-1].shape[0]) if convs else None


def _classifier_head(selected: Dict[str, torch.Tensor],
                     expected: Dict[str, torch.Tensor],
                     width: Optional[int]) -> List[str]:
    """Return the keys of ``selected`` that are a classifier head to ignore.

    They are ``fc.weight`` (2-D, ``(num_classes, width)``) and optionally
    ``fc.bias`` (``(num_classes, )``), both absent from the backbone. Any
    other combination is not a classifier head and returns ``[]``.
    """
    extra = [k for k in CLASSIFIER_HEAD_KEYS
             if k in selected and k not in expected]
    weight, bias = (_shape(selected.get(k)) for k in CLASSIFIER_HEAD_KEYS)
    if 'fc.weight' not in extra or width is None:
        return []
    if len(weight) != 2 or weight[1] != width:
        return []
    if 'fc.bias' in selected and bias != (weight[0], ):
        return []
    return extra


class _IgnoreKeys:
    """A ``load_state_dict`` post-hook that drops exact key names from the
    unexpected and the missing keys, in place, as torch and mmengine
    allow."""

    def __init__(self, unexpected: List[str], missing: List[str]) -> None:
        self.unexpected = frozenset(unexpected)
        self.missing = frozenset(missing)

    def __call__(self, module: nn.Module, incompatible_keys) -> None:
        for keys, ignored in ((incompatible_keys.unexpected_keys,
                               self.unexpected),
                              (incompatible_keys.missing_keys, self.missing)):
            keys[:] = [k for k in keys if k not in ignored]


def _examples(items: List[str], limit: int = 4) -> str:
    shown = ', '.join(items[:limit])
    more = len(items) - limit
    return shown + (f' and {more} more' if more > 0 else '')


def split_shared_head_keys(shared_head: nn.Module
                           ) -> Tuple[Dict[str, torch.Tensor], List[str]]:
    """Split a C4 shared head's state dict into ResNet-stage keys and others.

    mmdet's ``ResLayer`` holds the stage as ``layer{stage + 1}``; what else
    the head has (the ``norm`` after res5 of mmpretrain's
    ``ResLayerExtraNorm``, MoCo's extra norm) is not part of a ResNet and
    starts from its own initialisation.

    Args:
        shared_head (nn.Module): The shared head.

    Returns:
        tuple[dict, list[str]]: The stage's tensors by key, and the other
        keys.
    """
    stage, new = {}, []
    for key, value in shared_head.state_dict().items():
        if re.match(r'layer\d+\.', key):
            stage[key] = value
        else:
            new.append(key)
    return stage, new


def _merge_split_resnet(backbone: Dict[str, torch.Tensor],
                        shared_head: Dict[str, torch.Tensor]
                        ) -> Dict[str, torch.Tensor]:
    """The state dict of a ResNet split into backbone and shared head."""
    both = sorted(set(backbone) & set(shared_head))
    if both:
        raise PretrainedBackboneError(
            'The backbone and `model.roi_head.shared_head` both have the '
            f"keys {_examples(both)}: a C4 detector's backbone must stop "
            "before the stage that its shared head holds (mmdet's C4 "
            'configs: `num_stages=3` and `ResLayer(stage=3)`).')
    return {**backbone, **shared_head}


def check_backbone_checkpoint(backbone: nn.Module,
                              checkpoint: str,
                              prefix: Optional[str] = 'backbone.',
                              shared_head: Optional[nn.Module] = None
                              ) -> List[str]:
    """Check that ``checkpoint`` holds exactly ``backbone``'s weights.

    Every key of ``backbone.state_dict()`` must be in the checkpoint (after
    selecting ``prefix``) with the same shape, and the checkpoint must hold
    no other backbone key: a ResNet-101 checkpoint would otherwise load
    partially into a ResNet-50 without a word. The only exception is a
    classifier head that the backbone lacks (``fc.weight`` of shape
    ``(num_classes, feat_dim)`` and ``fc.bias``, as in torchvision's
    ResNet files); its keys are returned so that the caller can have them
    ignored when the file is loaded.

    Args:
        backbone (nn.Module): The built backbone.
        checkpoint (str): Path of a local checkpoint file.
        prefix (str, optional): Key prefix selected and stripped, as in
            ``init_cfg=dict(type='Pretrained', prefix=...)``.
            Defaults to ``'backbone.'``.
        shared_head (nn.Module, optional): The RoI head's shared head of a
            C4 detector (mmdet's ``ResLayer``, holding the last ResNet
            stage as ``layer4``): its stage keys count as the backbone's, so
            the checkpoint must hold both parts and nothing else (keys of
            the head outside the stage, such as the extra norm of
            ``ResLayerExtraNorm``, are not pretrained and not checked; see
            :func:`split_shared_head_keys`). Defaults to None (the backbone
            holds every stage).

    Returns:
        list[str]: The classifier-head keys (after ``prefix``) that the
        backbone does not have and that loading it ignores; ``[]`` for a
        file that holds exactly the backbone.

    Raises:
        PretrainedBackboneError: If the file is missing, holds no key under
            ``prefix``, or its keys/shapes differ from the backbone's.
        UnsafeCheckpointError: If it does not load weights-only.
    """
    if not osp.isfile(osp.expanduser(checkpoint)):
        raise PretrainedBackboneError(
            f'The pretrained backbone checkpoint "{checkpoint}" does not '
            f'exist or is not a file. {_HOW_TO_SET}')
    loaded = load_checkpoint_safe(
        osp.expanduser(checkpoint), map_location='cpu', mmap=True)
    state_dict = loaded.get('state_dict', loaded) if isinstance(
        loaded, dict) else {}
    if not isinstance(state_dict, dict):
        state_dict = {}
    tensors = {
        k: v
        for k, v in state_dict.items() if isinstance(v, torch.Tensor)
    }
    selected = _select_keys(tensors, prefix)
    expected = backbone.state_dict()
    model_name = type(backbone).__name__
    width_from = backbone  # the module whose feat_dim a classifier reads
    if shared_head is not None:
        expected = _merge_split_resnet(expected,
                                       split_shared_head_keys(shared_head)[0])
        model_name += (f' + {type(shared_head).__name__} (model.backbone + '
                       'model.roi_head.shared_head)')
        width_from = None  # the backbone's feat_dim is res4's
    expected_desc = (f'{len(expected)} {model_name} keys such '
                     f'as ' + _examples([
                         f'"{k}" {tuple(v.shape)}'
                         for k, v in expected.items()
                     ], 2))
    if not selected:
        found = sorted({k.split('.')[0] for k in tensors})
        hint = ''
        if prefix and set(expected) & set(tensors):
            hint = (' Its keys look like an already extracted backbone: '
                    'set `model.backbone.init_cfg.prefix=None` (or pass '
                    'the full mmselfemd checkpoint).')
        elif not prefix and any(k.startswith('backbone.') for k in tensors):
            hint = (' Its keys are under "backbone.": set '
                    '`model.backbone.init_cfg.prefix=backbone.`.')
        raise PretrainedBackboneError(
            f'The pretrained checkpoint "{checkpoint}" has no backbone '
            f'weights under the prefix "{prefix or ""}": expected '
            f'{expected_desc}; its top-level key groups are '
            f'{found or "none (no tensors)"}.{hint}')

    missing = [k for k in expected if k not in selected]
    head = _classifier_head(selected, expected,
                            _feature_width(width_from, expected))
    unexpected = [
        k for k in selected if k not in expected and k not in head
    ]
    mismatched = [
        f'"{k}" {_shape(selected[k])} instead of {tuple(v.shape)}'
        for k, v in expected.items()
        if k in selected and _shape(selected[k]) != tuple(v.shape)
    ]
    if missing or unexpected or mismatched:
        problems = []
        if mismatched:
            problems.append(f'{len(mismatched)} keys have other shapes '
                            f'({_examples(mismatched)})')
        if missing:
            problems.append(f'{len(missing)} expected keys are missing ('
                            + _examples([
                                f'"{k}" {tuple(expected[k].shape)}'
                                for k in missing
                            ]) + ')')
        if unexpected:
            problems.append(f'{len(unexpected)} keys are not in the model '
                            f'({_examples(unexpected)})')
        found, wanted = _describe_resnet(selected), _describe_resnet(expected)
        layouts = (f' It holds a {found}, the config builds a {wanted}.'
                   if found and wanted and found != wanted else '')
        raise PretrainedBackboneError(
            f'The pretrained checkpoint "{checkpoint}" (keys under prefix '
            f'"{prefix or ""}") does not match the configured backbone '
            f'{model_name}:{layouts} ' + '; '.join(problems) +
            f'. Expected {expected_desc}. The checkpoint was probably '
            'trained with another architecture (e.g. a ResNet-18 checkpoint '
            'for a ResNet-50 config): use the matching config or '
            'checkpoint.')
    return head


@HOOKS.register_module()
class PretrainedBackboneCheckHook(Hook):
    """Stop a transfer run that would not start from the pretrained backbone.

    In ``before_run`` of a *training* run (runs that only test or validate
    load a fine-tuned checkpoint and are let through), the hook reads the
    ``init_cfg`` of the built model's backbone and raises
    :class:`PretrainedBackboneError` unless

    - it is ``dict(type='Pretrained', checkpoint=PATH, prefix=...)`` with
      ``PATH`` a local file or one of :data:`VERIFIED_SCHEMES`
      (``zoo://NAME``, ``http(s)://``, ``file://``); ``torchvision://``,
      ``open-mmlab://`` and the other schemes of mmengine, and the unset
      marker :data:`NO_CHECKPOINT`, are refused: this is how MMDetection
      silently falls back to ImageNet weights; and
    - the keys of ``PATH`` under ``prefix`` match the backbone's state dict
      exactly (names and shapes), except for a classifier head the backbone
      lacks (``fc.weight``/``fc.bias`` of a torchvision ResNet; see
      :func:`check_backbone_checkpoint`). The backbone's
      ``load_state_dict`` then ignores exactly these keys until the run
      starts training (``before_train``), so ``init_weights()`` loads the
      backbone without mmengine's "do not match" warning.

    For a C4 detector, whose res5 is ``model.roi_head.shared_head``, the
    backbone and the shared head together must match the file, and the
    shared head is pointed at the backbone's file (see
    ``shared_head_attr``); each part ignores the other part's keys when it
    loads the file.

    A remote ``PATH`` is downloaded into the mmselfemd cache (rank 0 first)
    by :func:`~mmselfemd.apis.download_checkpoint` with
    ``require_sha256=True``: its SHA-256 must be known (``-hash8`` file name
    suffix, or the metafile's ``Weights SHA256`` for ``zoo://``) and match,
    and it must load weights-only; otherwise nothing is kept and the run
    stops. The keys are then checked on that file, and the ``init_cfg`` is
    pointed at it, so ``init_weights()`` loads exactly the verified file
    (not a second, unverified download by mmengine's http loader).

    ``before_run`` runs before ``init_weights()``, so no weight has been
    loaded when it refuses. ``tools/train.py`` calls :meth:`check` earlier,
    right after building the runner and before the datasets; a backbone
    that has passed is not checked again, so the checkpoint is read once
    per run.

    Args:
        allow_random_init (bool): Let a backbone *without* a ``Pretrained``
            ``init_cfg`` train from random initialisation (the random-init
            baseline). A ``Pretrained`` entry is still checked.
            Defaults to False.
        backbone_attr (str): Attribute of the model holding the backbone.
            Defaults to ``'backbone'``.
        shared_head_attr (str, optional): Dotted attribute path of a C4
            detector's shared RoI head, which holds the last ResNet stage
            (res5). When the model has a module there, it is checked with
            the backbone as one ResNet, its ``init_cfg`` must be
            ``Pretrained`` from :data:`SAME_AS_BACKBONE` (or the backbone's
            own file and prefix) and is set to the backbone's checked
            ``init_cfg``; with a random backbone it must not be pretrained.
            Models without it (FPN detectors) are not affected.
            Defaults to ``'roi_head.shared_head'``.

    Examples:
        >>> # in an mmdet-scoped config
        >>> custom_imports = dict(
        >>>     imports=['mmselfemd.engine.hooks'],
        >>>     allow_failed_imports=False)
        >>> custom_hooks = [
        >>>     dict(type='PretrainedBackboneCheckHook', _scope_='mmselfemd')
        >>> ]
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
        # the backbone that passed (checked once per run), and the handles
        # of the _IgnoreKeys post-hooks (until before_train)
        self._passed: Optional[nn.Module] = None
        self._ignore_handles: List[object] = []

    def before_run(self, runner) -> None:
        """Check the backbone's ``init_cfg`` before a training run."""
        from mmengine.runner import BaseLoop
        if not isinstance(getattr(runner, '_train_loop', None), BaseLoop):
            # runner.test()/val() load a whole fine-tuned checkpoint.
            return
        self.check(runner.model, logger=runner.logger)

    def before_train(self, runner) -> None:
        """Stop ignoring the classifier head once the weights are loaded.

        ``Runner.train()`` calls ``before_train`` after ``init_weights()``
        and ``load_or_resume()``.
        """
        for handle in self._ignore_handles:
            handle.remove()
        self._ignore_handles.clear()

    def check(self, model: nn.Module, logger=None) -> None:
        """Check ``model``'s backbone init (and its C4 shared head's), once:
        a backbone that passed is not checked again.

        Args:
            model (nn.Module): The built model (wrappers are unwrapped).
            logger (logging.Logger, optional): Where to report success.

        Raises:
            PretrainedBackboneError: As described in the class docstring.
        """
        if is_model_wrapper(model):
            model = model.module
        backbone = getattr(model, self.backbone_attr, None)
        if not isinstance(backbone, nn.Module):
            raise PretrainedBackboneError(
                f'{type(self).__name__}: the model '
                f'{type(model).__name__} has no backbone module at '
                f'`model.{self.backbone_attr}`.')
        if backbone is self._passed:
            return
        shared = self._shared_head(model)
        pretrained = _pretrained_cfgs(getattr(backbone, 'init_cfg', None))
        if not pretrained:
            if shared is not None:
                self._check_random_shared_head(shared)
            if self.allow_random_init:
                if logger is not None:
                    logger.warning('The backbone is randomly initialised '
                                   '(allow_random_init=True).')
                self._passed = backbone
                return
            raise PretrainedBackboneError(
                'This transfer config needs a pretrained backbone, but '
                "`model.backbone.init_cfg` has no `type='Pretrained'` "
                f'entry (it is {getattr(backbone, "init_cfg", None)!r}). '
                f'{_HOW_TO_SET} For the random-init baseline use the '
                '`*-scratch_*` config.')
        for cfg in pretrained:
            checkpoint = cfg.get('checkpoint')
            if not checkpoint or checkpoint == NO_CHECKPOINT:
                raise PretrainedBackboneError(
                    'No pretrained backbone checkpoint was given, and this '
                    'transfer config refuses to start without one (it never '
                    'falls back to ImageNet `torchvision://resnet50` '
                    f'weights). {_HOW_TO_SET} The file is an mmselfemd '
                    'pretraining checkpoint (keys under "backbone.") or, '
                    'with `model.backbone.init_cfg.prefix=None`, the output '
                    'of tools/model_converters/extract_backbone_weights.py.')
            checkpoint = str(checkpoint)
            if shared is not None:
                self._check_shared_head_follows(shared, cfg)
            local = checkpoint
            if _REMOTE.match(checkpoint):
                local = self._download(checkpoint)
            try:
                head = check_backbone_checkpoint(backbone, local,
                                                 cfg.get('prefix'), shared)
            except PretrainedBackboneError as e:
                if local == checkpoint:
                    raise
                raise PretrainedBackboneError(
                    f'{e} (The file was downloaded from "{checkpoint}" and '
                    'its SHA-256 verified.)') from e
            if local != checkpoint:
                cfg['checkpoint'] = local  # init_weights loads this file
            checked, new = [backbone], []
            if shared is not None:
                # res5 from the same verified file, with the same prefix
                shared.init_cfg = dict(cfg)
                checked.append(shared)
                # each part ignores the keys of the other part; the head's
                # own layers (the extra norm) are not in the file
                stage, new = split_shared_head_keys(shared)
                self._ignore_keys(backbone, head + list(stage))
                self._ignore_keys(shared, head + list(backbone.state_dict()),
                                  missing=new)
            else:
                self._ignore_keys(backbone, head)
            if logger is not None:
                names = ' + '.join(type(m).__name__ for m in checked)
                where = ('' if local == checkpoint else
                         f', downloaded and verified as "{local}"')
                ignored = ('' if not head else
                           f' Its classifier head ({", ".join(head)}), '
                           f'which {names} does not have, is not loaded.')
                res5 = ('' if shared is None else
                        f' (model.backbone + model.{self.shared_head_attr}, '
                        'which loads res5 from the same file)')
                fresh = ('' if not new else
                         f" The shared head's own {_examples(new)}, not part "
                         'of a ResNet, keep their initialisation.')
                logger.info(
                    f'Pretrained backbone check passed: '
                    f'{sum(len(m.state_dict()) for m in checked) - len(new)} '
                    f'keys of "{checkpoint}"{where} (prefix '
                    f'"{cfg.get("prefix") or ""}") match {names}{res5}.'
                    f'{ignored}{fresh}')
        self._passed = backbone

    def _shared_head(self, model: nn.Module) -> Optional[nn.Module]:
        """The module at ``shared_head_attr`` (None if absent)."""
        module = model
        for name in (self.shared_head_attr or '').split('.'):
            module = getattr(module, name, None) if name else None
        return module if isinstance(module, nn.Module) else None

    def _check_shared_head_follows(self, shared: nn.Module,
                                   backbone_cfg: dict) -> None:
        """Refuse a C4 shared head that would not load the backbone's res5.

        Its ``init_cfg`` must be ``Pretrained`` from
        :data:`SAME_AS_BACKBONE`, or from the backbone's checkpoint with the
        backbone's prefix.
        """
        where = f'`model.{self.shared_head_attr}`'
        init_cfg = getattr(shared, 'init_cfg', None)
        fix = (f'Set `model.{self.shared_head_attr}.init_cfg=dict('
               f"type='Pretrained', checkpoint='{SAME_AS_BACKBONE}')`, as "
               'the C4 transfer configs do, so that res5 comes from the '
               'checkpoint of `model.backbone.init_cfg`.')
        entries = _pretrained_cfgs(init_cfg)
        if not entries:
            raise PretrainedBackboneError(
                f'The backbone is loaded from "{backbone_cfg["checkpoint"]}",'
                f" but {where} (the C4 detector's res5, the last ResNet "
                "stage) has no `type='Pretrained'` init_cfg (it is "
                f'{init_cfg!r}): res5 would start from random weights. '
                f'{fix}')
        same = (backbone_cfg.get('checkpoint'), backbone_cfg.get('prefix'))
        for entry in entries:
            theirs = (entry.get('checkpoint'), entry.get('prefix'))
            if theirs[0] != SAME_AS_BACKBONE and theirs != same:
                raise PretrainedBackboneError(
                    f"{where} (the C4 detector's res5) would load "
                    f'"{theirs[0]}" with prefix "{theirs[1] or ""}", but the '
                    f'backbone loads "{same[0]}" with prefix '
                    f'"{same[1] or ""}": the ResNet stages of a C4 detector '
                    f'must come from one checkpoint. {fix}')

    def _check_random_shared_head(self, shared: nn.Module) -> None:
        """Refuse a pretrained C4 shared head on a random backbone."""
        entries = _pretrained_cfgs(getattr(shared, 'init_cfg', None))
        if entries:
            raise PretrainedBackboneError(
                'The backbone has no pretrained checkpoint, but '
                f"`model.{self.shared_head_attr}` (the C4 detector's res5) "
                f'would load "{entries[0].get("checkpoint")}". Give the '
                f'checkpoint to the backbone ({_HOW_TO_SET}); res5 follows '
                'it. For the random-init baseline use the `*-scratch_*` '
                f'config (`model.{self.shared_head_attr}.init_cfg=None`).')

    def _ignore_keys(self,
                     module: nn.Module,
                     keys: List[str],
                     missing: Optional[List[str]] = None) -> None:
        """Have ``module.load_state_dict`` ignore these unexpected keys (and
        these ``missing`` ones)."""
        if keys or missing:
            self._ignore_handles.append(
                module.register_load_state_dict_post_hook(
                    _IgnoreKeys(keys, missing or [])))

    @staticmethod
    def _download(checkpoint: str) -> str:
        """Download and verify a remote checkpoint; return its path."""
        if not checkpoint.startswith(VERIFIED_SCHEMES):
            raise PretrainedBackboneError(
                f'The backbone checkpoint "{checkpoint}" is a remote or '
                'model-zoo address of mmengine that is not verified here '
                '(ImageNet or other weights); transfer configs evaluate a '
                'self-supervised checkpoint given as a local path or as '
                f'{", ".join(VERIFIED_SCHEMES)} (downloaded and SHA-256 '
                f'verified first). {_HOW_TO_SET}')
        try:
            return download_rank0_first(
                checkpoint, progress=sys.stderr.isatty(),
                require_sha256=True)
        except (CheckpointDownloadError, ChecksumMismatchError,
                UnknownZooModelError, UnsafeCheckpointError, ValueError,
                FileNotFoundError) as e:
            raise PretrainedBackboneError(
                f'The pretrained backbone checkpoint "{checkpoint}" was not '
                f'used: {e}') from e
