# Copyright (c) mmselfemd contributors. All rights reserved.
"""Train a model from a config (mmselfemd pretraining or mmdet transfer).

Examples::

    python tools/train.py CONFIG [--work-dir DIR] [--resume [PATH]] [--amp]
    bash tools/dist_train.sh CONFIG 8 [--cfg-options k=v ...]
"""
import argparse
import os
import os.path as osp
from copy import deepcopy

import torch
import torch.distributed as torch_dist
from mmengine.config import Config, ConfigDict, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

# importing mmselfemd makes mmengine's checkpoints weights-only loadable
import mmselfemd  # noqa: F401
from mmselfemd.engine.hooks import PretrainedBackboneCheckHook
from mmselfemd.utils import register_all_modules

# Scopes whose configs follow mmpretrain's data conventions (dict batches,
# ``default_collate``); other scopes (mmdet) keep their own defaults.
_SELFSUP_SCOPES = ('mmselfemd', 'mmpretrain')


def parse_args(argv=None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='If a checkpoint path is given, resume from it; without a '
        'value, resume from the latest checkpoint in the work directory.')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='enable automatic mixed precision training (float16 on CUDA)')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='do not evaluate checkpoints during training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the actual total batch size '
        'relative to `auto_scale_lr.base_batch_size`')
    parser.add_argument(
        '--no-pin-memory',
        action='store_true',
        help='disable the pin_memory option of the dataloaders')
    parser.add_argument(
        '--no-persistent-workers',
        action='store_true',
        help='disable the persistent_workers option of the dataloaders')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings in the config, as key=value pairs merged '
        'into it, e.g. model.backbone.init_cfg.checkpoint=PATH. A list is '
        'written key="[a,b]" or key=a,b; quotes are needed and no white '
        'space is allowed.')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank (torch >= 2.0) or
    # --local_rank; torchrun sets LOCAL_RANK instead.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Merge the command line into the config.

    Args:
        cfg (Config): The loaded config.
        args (argparse.Namespace): The parsed command line.

    Returns:
        Config: The updated config (``--cfg-options`` applied last).
    """
    cfg.setdefault('default_scope', 'mmselfemd')
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None

    cfg.launcher = args.launcher

    # work_dir: CLI > config > ./work_dirs/<config name>
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    if args.amp:
        if not torch.cuda.is_available():
            raise RuntimeError(
                "--amp needs a CUDA device: mmengine 0.10.7's "
                'AmpOptimWrapper asserts that CUDA (or NPU/MLU/MUSA) is '
                'available, so bfloat16 mixed precision on CPU is not '
                'supported by this tool. Train on CPU without --amp.')
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper not in ('OptimWrapper', 'AmpOptimWrapper'):
            raise ValueError(
                f'--amp replaces `optim_wrapper.type` by AmpOptimWrapper, '
                f'but the config uses {optim_wrapper!r}; set the mixed '
                'precision wrapper in the config instead.')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
        cfg.optim_wrapper.setdefault('dtype', 'float16')

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    if args.auto_scale_lr:
        auto_scale_lr = cfg.get('auto_scale_lr', None)
        if not auto_scale_lr or 'base_batch_size' not in auto_scale_lr:
            raise RuntimeError(
                f'--auto-scale-lr needs `auto_scale_lr = dict('
                f'base_batch_size=N)` in the config "{args.config}", which '
                'does not set it.')
        cfg.auto_scale_lr.enable = True

    _set_dataloader_defaults(cfg, args)

    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def _set_dataloader_defaults(cfg: Config, args: argparse.Namespace) -> None:
    """Dataloader defaults, as mmpretrain's tools/train.py sets them.

    ``collate_fn=default_collate`` (what ``SelfSupDataPreprocessor`` needs)
    is only defaulted for mmselfemd/mmpretrain-scoped configs: mmdet's
    detectors need mmengine's ``pseudo_collate``. ``pin_memory`` is only
    defaulted with CUDA and ``persistent_workers`` only with workers.
    """
    selfsup = cfg.get('default_scope') in _SELFSUP_SCOPES
    for field in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(field, None) is None:
            continue
        loader = ConfigDict()
        if selfsup:
            loader.collate_fn = dict(type='default_collate')
        if torch.cuda.is_available():
            loader.pin_memory = True
        if cfg[field].get('num_workers', 0) > 0:
            loader.persistent_workers = True
        loader.update(deepcopy(cfg[field]))
        if args.no_pin_memory:
            loader.pin_memory = False
        if args.no_persistent_workers:
            loader.persistent_workers = False
        cfg[field] = loader


def setup_cpu_distributed(cfg: Config) -> None:
    """Start the process group with gloo when a launcher runs on CPU.

    mmengine's ``init_dist`` calls ``torch.cuda.set_device`` for the pytorch
    launcher, which fails without a GPU. On CPU this function initialises
    the ``gloo`` process group from torchrun's environment itself (the
    runner then reuses it) and makes DDP wrap CPU modules
    (``device_ids=None``).

    Args:
        cfg (Config): The config; ``env_cfg.dist_cfg`` and
            ``model_wrapper_cfg`` are updated.
    """
    if cfg.launcher == 'none' or torch.cuda.is_available():
        return
    if cfg.launcher != 'pytorch':
        raise RuntimeError(
            f'--launcher {cfg.launcher} without CUDA is not supported: '
            'use --launcher pytorch (tools/dist_train.sh) for CPU runs.')
    cfg.setdefault('env_cfg', ConfigDict())
    cfg.env_cfg.setdefault('dist_cfg', ConfigDict())
    cfg.env_cfg.dist_cfg.backend = 'gloo'
    if not torch_dist.is_initialized():
        timeout = cfg.env_cfg.dist_cfg.get('timeout', None)
        kwargs = {}
        if timeout is not None:
            from datetime import timedelta
            kwargs['timeout'] = timedelta(seconds=timeout)
        torch_dist.init_process_group(backend='gloo', **kwargs)
    wrapper = cfg.get('model_wrapper_cfg', None) or ConfigDict(
        type='MMDistributedDataParallel',
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper.device_ids = None
    cfg.model_wrapper_cfg = wrapper


def check_pretrained_backbone(runner: Runner) -> None:
    """Run the config's :class:`PretrainedBackboneCheckHook` right away.

    The hook itself runs in ``before_run``, i.e. after the datasets are
    built; calling it here refuses a transfer run without its checkpoint
    before any data is read.
    """
    for hook in runner.hooks:
        if isinstance(hook, PretrainedBackboneCheckHook):
            hook.check(runner.model, logger=runner.logger)


def main(argv=None) -> None:
    """Entry point."""
    args = parse_args(argv)
    register_all_modules(init_default_scope=False)

    # mmengine raises a bare KeyError for an empty env-var substitution;
    # treat MMSELFEMD_PRETRAINED= like unset (transfer configs then refuse
    # to train with a clear message).
    if os.environ.get('MMSELFEMD_PRETRAINED', None) == '':
        del os.environ['MMSELFEMD_PRETRAINED']
    cfg = Config.fromfile(args.config)
    cfg = merge_args(cfg, args)
    setup_cpu_distributed(cfg)

    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)

    check_pretrained_backbone(runner)
    runner.train()


if __name__ == '__main__':
    main()
