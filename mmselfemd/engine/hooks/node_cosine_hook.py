# Copyright (c) mmselfemd contributors. All rights reserved.
from typing import List, Optional, Sequence

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmselfemd.models.utils.node_cosine import node_cosine
from mmselfemd.registry import HOOKS


@HOOKS.register_module()
class NodeCosineHook(Hook):
    """Log the spatial-collapse diagnostic of the backbone during training.

    At every training iteration it reads the online backbone's last output
    map (for every view the model passes through it; a PyTorch forward hook
    on the module, so the model's code is untouched) and logs the mean of
    :func:`~mmselfemd.models.utils.node_cosine` over the batch as
    ``node_cos`` (log, ``vis_data/scalars.json``): the mean cosine between
    two different locations of a map. It rises towards 1 when every
    location carries the same vector (spatial collapse), which a loss on
    pooled or near-independently matched features does not prevent. It
    works the same for any model with a backbone (Self-EMD, mmpretrain's
    BYOL), so two recipes can be compared on it; the target network is not
    read (it is another module).

    Example::

        custom_hooks = [dict(type='NodeCosineHook')]

    Args:
        backbone_attr (Sequence[str]): Attribute path from the model to the
            backbone. Defaults to ``('backbone', )``.
        key (str): Name of the logged scalar. Defaults to ``'node_cos'``.
    """

    priority = 'NORMAL'

    def __init__(self,
                 backbone_attr: Sequence[str] = ('backbone', ),
                 key: str = 'node_cos') -> None:
        self.backbone_attr = tuple(backbone_attr)
        self.key = key
        self._handle = None
        self._active = False
        self._values: List[torch.Tensor] = []

    def _backbone(self, runner) -> torch.nn.Module:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        module = model
        for name in self.backbone_attr:
            if not hasattr(module, name):
                raise AttributeError(
                    f'NodeCosineHook: {type(model).__name__} has no '
                    f'"{".".join(self.backbone_attr)}" (set backbone_attr '
                    'to the attribute path of the backbone)')
            module = getattr(module, name)
        return module

    def _record(self, module, inputs, output) -> None:
        if not self._active:
            return
        last = output[-1] if isinstance(output, (tuple, list)) else output
        if torch.is_tensor(last) and last.dim() == 4:
            self._values.append(node_cosine(last))

    def before_train(self, runner) -> None:
        if self._handle is None:
            self._handle = self._backbone(runner).register_forward_hook(
                self._record)

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        self._values = []
        self._active = True

    def after_train_iter(self, runner, batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        self._active = False
        if self._values:
            value = torch.cat(self._values).mean().item()
            runner.message_hub.update_scalar(f'train/{self.key}', value)
        self._values = []

    def after_train(self, runner) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None
