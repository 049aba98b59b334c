# Copyright (c) mmselfemd contributors. All rights reserved.
"""The GPU check's ``data`` section: can the pipeline feed the step?"""
import os
import time

from projects.benchmarks import project_path

from .check_context import CheckContext
from .deadline import Deadline

DATA_CFG = project_path('configs', '_base_', 'datasets', 'coco_selfemd.py')


def section_data(ctx: CheckContext, deadline: Deadline) -> dict:
    """Throughput of the default COCO pipeline with all cores.

    ``coco_selfemd.py``'s default ``train_pipeline`` (2 x 224 px views)
    through mmengine's dataloader with one worker per core (at most 2 with
    ``--tiny``), on COCO-size JPEGs; pairs/s and whether that feeds the
    step rate measured by the step section.

    Args:
        ctx (CheckContext): The check's context.
        deadline (Deadline): Soft deadline of the timed batches.

    Returns:
        dict: The section's result.
    """
    from mmengine.config import Config
    from mmengine.runner import Runner

    from mmselfemd.utils import register_all_modules
    register_all_modules()
    size = ctx.size['data']
    images = ctx.images_dir(size['images'])
    cores = len(os.sched_getaffinity(0)) if hasattr(
        os, 'sched_getaffinity') else os.cpu_count()
    workers = ctx.args.workers or cores
    if ctx.args.tiny and ctx.args.workers is None:
        workers = min(workers, 2)
    cfg = Config.fromfile(DATA_CFG).train_dataloader.to_dict()
    cfg.update(
        batch_size=size['batch'], num_workers=workers,
        persistent_workers=False, pin_memory=ctx.cuda,
        sampler=dict(type='InfiniteSampler', shuffle=True))
    cfg['dataset'].update(data_root='', ann_file='',
                          data_prefix=dict(img=images), check_files=8)
    loader = Runner.build_dataloader(cfg, seed=0)
    num_images = len(loader.dataset)
    t0 = time.monotonic()
    it = iter(loader)
    first = next(it)
    startup = time.monotonic() - t0
    views = [tuple(v.shape) for v in first['inputs']]
    seconds = min(size['seconds'], max(deadline.left() - 10, 1))
    batches = 0
    t0 = time.monotonic()
    while batches < size['max_batches'] and \
            time.monotonic() - t0 < seconds:
        next(it)
        batches += 1
    elapsed = time.monotonic() - t0
    del it, loader
    pairs_per_s = batches * size['batch'] / elapsed
    out = dict(
        pipeline='configs/_base_/datasets/coco_selfemd.py train_pipeline '
        '(2 x 224 px views)', images=images,
        num_images=num_images, image_size='640x480 / 480x640 JPEG q90',
        workers=workers, cores=cores, batch=size['batch'],
        batches=batches, seconds=elapsed, startup_s=startup,
        views=views, pairs_per_s=pairs_per_s,
        pairs_per_s_per_worker=pairs_per_s / max(workers, 1))
    step = ctx.results.get('step', {}).get('result', {})
    need = {}
    if step.get('recipe'):
        need['recipe'] = step['recipe']['selfemd_pairs_per_s']
    if step.get('best_amp'):
        need['two_views'] = step['best_amp']['selfemd_pairs_per_s']
    out['step_pairs_per_s'] = need
    if need:
        rate = need.get('two_views', need.get('recipe'))
        out['can_feed'] = pairs_per_s >= rate
        out['feed_margin'] = pairs_per_s / rate
        out['compared_with'] = 'two_views' if 'two_views' in need \
            else 'recipe'
    return out
