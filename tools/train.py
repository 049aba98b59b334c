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

from mmselfemd.apis import CheckpointDownloadError, ChecksumMismatchError
from mmselfemd.engine.hooks import (
    PretrainedBackboneCheckHook,
    PretrainedBackboneError,
    add_portable_checkpoint_hook,
)
from mmselfemd.utils import register_all_modules
from mmselfemd.utils.user_errors import (
    USER_ERRORS,
    add_debug_argument,
    run_cli,
)

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
        help='enable automatic mixed precision training (float16 with '
        'dynamic loss scaling on CUDA, bfloat16 on CPU)')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='do not evaluate checkpoints during training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the effective batch size (GPUs x '
        'batch per GPU x optim_wrapper.accumulative_counts) relative to '
        '`auto_scale_lr.base_batch_size`')
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
    add_debug_argument(parser)
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
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper not in ('OptimWrapper', 'AmpOptimWrapper',
                                 'CPUAmpOptimWrapper'):
            raise ValueError(
                f'--amp replaces `optim_wrapper.type` by AmpOptimWrapper, '
                f'but the config uses {optim_wrapper!r}; set the mixed '
                'precision wrapper in the config instead.')
        if torch.cuda.is_available():
            # mmengine's wrapper: float16 with dynamic loss scaling
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
            cfg.optim_wrapper.setdefault('dtype', 'float16')
        else:
            # mmengine's AmpOptimWrapper asserts an accelerator; this
            # subclass runs CPU autocast in bfloat16 (no loss scaling)
            cfg.optim_wrapper.type = 'CPUAmpOptimWrapper'
            cfg.optim_wrapper.pop('loss_scale', None)
            cfg.optim_wrapper.dtype = 'bfloat16'

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    if args.auto_scale_lr:
        auto_scale_lr = cfg.get('auto_scale_lr', None)
        if not auto_scale_lr or 'base_batch_size' not in auto_scale_lr:
            raise ValueError(
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
    before any data is read (``before_run`` then finds the backbone checked
    and reads the checkpoint no second time).
    """
    for hook in runner.hooks:
        if isinstance(hook, PretrainedBackboneCheckHook):
            hook.check(runner.model, logger=runner.logger)


# Errors caused by what the user gave (config, paths, data, checkpoints):
# reported as one paragraph unless --debug. Anything else (a bug) keeps
# its traceback.
TRAIN_USER_ERRORS = USER_ERRORS + (
    PretrainedBackboneError, ChecksumMismatchError, CheckpointDownloadError)


def scale_lr_with_accumulation(runner: Runner) -> None:
    """Make ``--auto-scale-lr`` count gradient accumulation.

    mmengine's ``Runner.scale_lr`` scales the learning rate by
    ``world_size x batch_size / base_batch_size``; with
    ``optim_wrapper.accumulative_counts = k`` each optimizer step sees
    ``k`` times that many samples. Dividing the runner's
    ``base_batch_size`` by ``k`` (the dumped config keeps the original)
    makes mmengine's ratio ``world_size x batch_size x k / base``.

    Args:
        runner (Runner): The built runner, before ``train()``.
    """
    auto_scale_lr = runner.auto_scale_lr
    if not auto_scale_lr or not auto_scale_lr.get('enable', False):
        return
    counts = runner.cfg.optim_wrapper.get('accumulative_counts', 1)
    if not isinstance(counts, int) or counts < 1:
        raise ValueError(
            f'optim_wrapper.accumulative_counts must be a positive integer, '
            f'got {counts!r}')
    if counts == 1:
        return
    loader = runner.cfg.train_dataloader
    base = auto_scale_lr['base_batch_size']
    effective = runner.world_size * loader['batch_size'] * counts
    runner.logger.info(
        f'--auto-scale-lr with gradient accumulation: effective batch '
        f'{runner.world_size} x {loader["batch_size"]} x {counts} '
        f'(accumulative_counts) = {effective}, base_batch_size {base}: lr '
        f'x {effective / base:g}. (The mmengine line below counts '
        f'processes x batch only, against base_batch_size / {counts}.)')
    runner.auto_scale_lr = dict(auto_scale_lr, base_batch_size=base / counts)


def train(args: argparse.Namespace) -> None:
    """Build the runner from the config and the command line, and train."""
    # registers the modules, allow-lists the globals of checkpoints written
    # without PortableCheckpointHook (plain mmengine, earlier mmselfemd) for
    # weights-only loading, and registers zoo://
    register_all_modules(init_default_scope=False)

    # mmengine raises a bare KeyError for an empty env-var substitution;
    # treat MMSELFEMD_PRETRAINED= like unset (transfer configs then refuse
    # to train with a clear message).
    if os.environ.get('MMSELFEMD_PRETRAINED', None) == '':
        del os.environ['MMSELFEMD_PRETRAINED']
    cfg = Config.fromfile(args.config)
    cfg = merge_args(cfg, args)
    # checkpoints that load weights-only anywhere and resume (issue 13)
    add_portable_checkpoint_hook(cfg)
    setup_cpu_distributed(cfg)

    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)

    check_pretrained_backbone(runner)
    scale_lr_with_accumulation(runner)
    runner.train()


def main(argv=None) -> None:
    """Entry point: train; user errors exit 1 with one paragraph."""
    args = parse_args(argv)
    run_cli(lambda: train(args), 'tools/train.py', args.debug,
            TRAIN_USER_ERRORS)


if __name__ == '__main__':
    main()
