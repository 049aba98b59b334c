# Copyright (c) mmselfemd contributors. All rights reserved.
"""Test (and evaluate) a checkpoint with a config's test loop.

Mostly used for the detection transfer configs (``default_scope='mmdet'``)
after fine-tuning; pretraining configs have no test loop.

Examples::

    python tools/test.py CONFIG CHECKPOINT [--out results.pkl]
    bash tools/dist_test.sh CONFIG CHECKPOINT 8
"""
import argparse
import os
import os.path as osp

import mmengine
import torch
import torch.distributed as torch_dist
from mmengine.config import Config, ConfigDict, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from mmselfemd.utils import register_all_modules
from mmselfemd.utils.user_errors import (
    add_debug_argument,
    run_cli,
)


def parse_args(argv=None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description='Test (and evaluate) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir', help='the dir to save the evaluation metrics')
    parser.add_argument(
        '--out', help='dump the predictions (or metrics) to this file')
    parser.add_argument(
        '--out-item',
        choices=['metrics', 'pred'],
        help='what --out holds; predictions by default')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings in the config, as key=value pairs merged '
        'into it. A list is written key="[a,b]" or key=a,b; quotes are '
        'needed and no white space is allowed.')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='test with automatic mixed precision (float16 on CUDA, '
        'bfloat16 on CPU)')
    parser.add_argument(
        '--show-dir',
        help='directory where painted predictions are saved (mmdet '
        'configs)')
    parser.add_argument(
        '--show', action='store_true', help='show the predictions')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='display time (s)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    add_debug_argument(parser)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    if args.out is None and args.out_item is not None:
        parser.error('--out-item needs --out')
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
    if cfg.get('test_dataloader', None) is None or cfg.get(
            'test_cfg', None) is None:
        raise ValueError(
            f'The config "{args.config}" has no test_dataloader/test_cfg: '
            'pretraining configs cannot be tested; fine-tune the '
            'pretrained backbone with a transfer config '
            '(configs/benchmarks/mmdetection/) and test that model with the '
            'same transfer config instead.')
    cfg.launcher = args.launcher

    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    cfg.load_from = args.checkpoint
    if args.amp:
        cfg.test_cfg.fp16 = True

    if args.show or args.show_dir:
        if cfg.default_scope != 'mmdet':
            raise ValueError('--show/--show-dir are only supported for '
                             'mmdet-scoped (detection) configs.')
        from mmdet.engine.hooks.utils import trigger_visualization_hook
        cfg = trigger_visualization_hook(cfg, args)

    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def setup_cpu_distributed(cfg: Config) -> None:
    """Start the process group with gloo for CPU runs (see train.py)."""
    if cfg.launcher == 'none' or torch.cuda.is_available():
        return
    if cfg.launcher != 'pytorch':
        raise RuntimeError(
            f'--launcher {cfg.launcher} without CUDA is not supported: '
            'use --launcher pytorch (tools/dist_test.sh) for CPU runs.')
    cfg.setdefault('env_cfg', ConfigDict())
    cfg.env_cfg.setdefault('dist_cfg', ConfigDict())
    cfg.env_cfg.dist_cfg.backend = 'gloo'
    if not torch_dist.is_initialized():
        torch_dist.init_process_group(backend='gloo')
    wrapper = cfg.get('model_wrapper_cfg', None) or ConfigDict(
        type='MMDistributedDataParallel', broadcast_buffers=False)
    wrapper.device_ids = None
    cfg.model_wrapper_cfg = wrapper


def run_test(args: argparse.Namespace) -> None:
    """Build the runner from the config and the command line, and test."""
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
    setup_cpu_distributed(cfg)

    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)

    if args.out and args.out_item in ('pred', None):
        if cfg.default_scope == 'mmdet':
            from mmdet.evaluation import DumpDetResults as Dump
        else:
            from mmengine.evaluator import DumpResults as Dump
        runner.test_evaluator.metrics.append(Dump(out_file_path=args.out))

    metrics = runner.test()

    if args.out and args.out_item == 'metrics':
        mmengine.dump(metrics, args.out)


def main(argv=None) -> None:
    """Entry point: test; user errors exit 1 with one paragraph."""
    args = parse_args(argv)
    run_cli(lambda: run_test(args), 'tools/test.py', args.debug)


if __name__ == '__main__':
    main()
