# Copyright (c) mmselfemd contributors. All rights reserved.
import time
from typing import Optional, Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmselfemd.evaluation import RoIProbe
from mmselfemd.registry import HOOKS


@HOOKS.register_module()
class RoIProbeHook(Hook):
    """Evaluate the online backbone with :class:`RoIProbe` during training.

    Every ``interval`` training iterations (and after the last one), the
    online backbone of the model being pretrained is probed on a small
    labelled box set (frozen features, RoIAlign, linear classifier; see
    :class:`~mmselfemd.evaluation.RoIProbe`). The scores are written to the
    log and, through the runner's visualizer, to ``vis_data/scalars.json``
    as ``probe/bacc``, ``probe/acc`` and ``probe/fg_acc`` at the iteration
    they were measured, so ``tools/analysis_tools/analyze_logs.py`` can
    plot them next to the losses. Only rank 0 probes (the others wait at
    no cost: the probe does not touch the model's parameters).

    Example::

        custom_hooks = [
            dict(type='RoIProbeHook', interval=100,
                 probe=dict(train_ann_file='data/annotations/train.json',
                            train_img_prefix='data/train/',
                            val_ann_file='data/annotations/val.json',
                            val_img_prefix='data/val/'))
        ]

    Args:
        probe (dict): Keyword arguments of
            :class:`~mmselfemd.evaluation.RoIProbe`.
        interval (int): Probe every this many iterations. Defaults to 100.
        at_start (bool): Also probe before the first iteration (the
            initialisation's score). Defaults to False.
        backbone_attr (Sequence[str]): Attribute path from the model to the
            backbone. Defaults to ``('backbone', )``.
    """

    priority = 'LOW'

    def __init__(self,
                 probe: dict,
                 interval: int = 100,
                 at_start: bool = False,
                 backbone_attr: Sequence[str] = ('backbone', )) -> None:
        if interval < 1:
            raise ValueError(f'RoIProbeHook interval must be >= 1, got '
                             f'{interval}')
        self.probe_cfg = dict(probe)
        self.interval = interval
        self.at_start = at_start
        self.backbone_attr = tuple(backbone_attr)
        self._probe: Optional[RoIProbe] = None

    def _run(self, runner, step: int) -> None:
        from mmengine.dist import is_main_process
        if not is_main_process():
            return
        if self._probe is None:
            self._probe = RoIProbe(**self.probe_cfg)
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        backbone = model
        for name in self.backbone_attr:
            backbone = getattr(backbone, name)
        start = time.time()
        scores = self._probe.evaluate(backbone)
        runner.visualizer.add_scalars(
            {f'probe/{k}': scores[k]
             for k in ('bacc', 'acc', 'fg_acc')},
            step=step)
        runner.logger.info(
            f'RoI probe at iter {step}: balanced acc {scores["bacc"]:.4f}, '
            f'acc {scores["acc"]:.4f}, fg acc {scores["fg_acc"]:.4f} '
            f'({scores["num_train_rois"]} train / {scores["num_val_rois"]} '
            f'val RoIs, {time.time() - start:.1f} s)')

    def before_train(self, runner) -> None:
        if self.at_start:
            self._run(runner, runner.iter)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if (self.every_n_train_iters(runner, self.interval)
                or self.is_last_train_iter(runner)):
            self._run(runner, runner.iter + 1)
