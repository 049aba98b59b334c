# Copyright (c) mmselfemd contributors. All rights reserved.
"""Benchmark the pretraining data pipeline (images/s in one process).

One process with one torch / OpenCV thread, as in a DataLoader worker, so
the numbers are images/s **per worker**. The pipelines of one image set run
interleaved, round by round (median of the timed rounds). Images are real
photographs shipped by scikit-image, re-encoded as JPEG at COCO size
(640x480 and 480x640, quality 90) and at phone-camera size (4032x3024,
12 MP).

Pipelines:

- ``mmpretrain-byol``: mmpretrain 1.2.0's BYOL pipeline
  (``configs/_base_/datasets/imagenet_bs32_byol.py``) unchanged, except
  that mmcv's ``adjust_hue`` is patched to wrap the hue modulo 256: as
  shipped it raises ``OverflowError`` under numpy 2 for negative hue
  factors (same cost as the original).
- ``ours-2view``: ``LoadImageRobust`` + ``MultiViewWithBoxes`` with the
  same two views (``RandomResizedCropWithBox`` cv2 bicubic/area,
  ``FastColorJitter``, ``FastGaussianBlur``) + ``PackMultiViewInputs``:
  the default ``train_pipeline`` of
  ``configs/_base_/datasets/coco_selfemd.py``.
- ``ours-2view+4small``: its ``spc_train_pipeline`` (2 x 224 + 4 x 96 SPC
  views, the SPC ablation).
- JPEGs are decoded strictly by libjpeg-turbo (``simplejpeg``, corrupt data
  are an error); ``-lenient`` variants use the lenient decoders of before
  (``strict_jpeg=False``: OpenCV, ``-lenient-pillow``: Pillow), which
  accept corrupt JPEGs that end with an end-of-image marker.
  ``-noreduce`` variants switch off reduced-size JPEG decoding.

Then the decode alone (``LoadImageRobust``, full size and, for the 12 MP
set, with the ``reduce_decode`` of ``spc_train_pipeline``, 288 decoded
pixels): strict vs. lenient OpenCV vs. lenient Pillow, the variants
interleaved round by round so that a drifting machine load affects them
alike.

Also times ``CocoUnlabeledDataset`` indexing a synthetic 241,690-entry
image-info JSON (train2017 + unlabeled2017 size).

Example::

    python projects/benchmarks/tools/benchmark_pipeline.py --num 300
"""
import argparse
import copy
import json
import os
import os.path as osp
import platform
import sys
import tempfile
import time

import cv2
import mmcv
import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from PIL import Image

from mmselfemd.datasets import CocoUnlabeledDataset
from mmselfemd.registry import TRANSFORMS

# the repository root, which holds projects/ (run from anywhere)
REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', '..'))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from projects.benchmarks import (  # noqa: E402
    make_coco_size_jpegs,
    project_path,
)

CONFIG = project_path('configs', '_base_', 'datasets', 'coco_selfemd.py')


def _fixed_adjust_hue(img, hue_factor, backend=None):
    """mmcv.adjust_hue (pillow) with the hue shift wrapped modulo 256."""
    pil_image = Image.fromarray(img[..., ::-1], mode='RGB')
    h, s, v = pil_image.convert('HSV').split()
    shift = int(hue_factor * 255) % 256
    np_h = ((np.asarray(h, np.int16) + shift) % 256).astype(np.uint8)
    pil_image = Image.merge('HSV', (Image.fromarray(np_h, 'L'), s, v))
    return np.array(pil_image.convert('RGB'), dtype=img.dtype)[..., ::-1]


def byol_pipeline():
    """mmpretrain's imagenet_bs32_byol.py train_pipeline."""
    view_pipeline1 = [
        dict(type='RandomResizedCrop', scale=224, interpolation='bicubic',
             backend='pillow'),
        dict(type='RandomFlip', prob=0.5),
        dict(type='RandomApply', transforms=[
            dict(type='ColorJitter', brightness=0.4, contrast=0.4,
                 saturation=0.2, hue=0.1)
        ], prob=0.8),
        dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
             channel_weights=(0.114, 0.587, 0.2989)),
        dict(type='GaussianBlur', magnitude_range=(0.1, 2.0),
             magnitude_std='inf', prob=1.),
        dict(type='Solarize', thr=128, prob=0.),
    ]
    view_pipeline2 = copy.deepcopy(view_pipeline1)
    view_pipeline2[4]['prob'] = 0.1
    view_pipeline2[5]['prob'] = 0.2
    return [
        dict(type='LoadImageFromFile'),
        dict(type='MultiView', num_views=[1, 1],
             transforms=[view_pipeline1, view_pipeline2]),
        dict(type='PackInputs'),
    ]


def our_pipeline(small_views, decode_backend='cv2', reduce=True,
                 strict_jpeg=True):
    cfg = Config.fromfile(CONFIG)
    # the SPC pipeline, or the default two-view one
    pipeline = copy.deepcopy(
        cfg.spc_train_pipeline if small_views else cfg.train_pipeline)
    pipeline[0]['decode_backend'] = decode_backend
    pipeline[0]['strict_jpeg'] = strict_jpeg
    if not reduce:
        pipeline[0]['reduce_decode'] = None
    return pipeline


def bench(pipeline_cfgs, paths, num, repeats):
    """Images/s of each pipeline (median of rounds), interleaved.

    Every round runs each pipeline on the same ``num`` samples with the same
    seed; the order alternates between rounds, so that a drifting machine
    load affects all pipelines alike. Round 0 is a warm-up.
    """
    pipelines = [[TRANSFORMS.build(t) for t in cfg] for cfg in pipeline_cfgs]
    times = [[] for _ in pipelines]
    for r in range(repeats + 1):
        order = list(range(len(pipelines)))
        if r % 2:
            order.reverse()
        for k in order:
            np.random.seed(r)
            start = time.perf_counter()
            for i in range(num):
                results = dict(img_path=paths[i % len(paths)], sample_idx=i)
                for t in pipelines[k]:
                    results = t(results)
                assert results is not None, paths[i % len(paths)]
            if r:
                times[k].append(time.perf_counter() - start)
    return [num / float(np.median(t)) for t in times]


DECODERS = [('strict (libjpeg-turbo)', dict()),
            ('lenient cv2', dict(strict_jpeg=False)),
            ('lenient pillow', dict(strict_jpeg=False,
                                    decode_backend='pillow'))]


def bench_decode(paths, num, repeats, reduce_decode=None):
    """Images/s of ``LoadImageRobust`` alone per decoder, interleaved."""
    return bench(
        [[dict(type='LoadImageRobust', reduce_decode=reduce_decode, **kw)]
         for _, kw in DECODERS], paths, num, repeats)


def bench_index(num_train=118287, num_unlabeled=123403):
    with tempfile.TemporaryDirectory() as tmp:
        for name, n, off in [('train', num_train, 0),
                             ('unlabeled', num_unlabeled, 10**6)]:
            images = [
                dict(id=off + i, file_name=f'{off + i:012d}.jpg', width=640,
                     height=480, license=1, date_captured='2013-11-14',
                     coco_url='http://images.cocodataset.org/x.jpg')
                for i in range(n)
            ]
            with open(osp.join(tmp, f'{name}.json'), 'w') as f:
                json.dump(dict(info={}, licenses=[], images=images), f)
        start = time.perf_counter()
        ds = CocoUnlabeledDataset(
            data_root=tmp, ann_file='train.json',
            data_prefix=dict(img='train2017/'),
            sources=[dict(type='coco_json', ann_file='unlabeled.json',
                          img_prefix='unlabeled2017/')],
            filter_cfg=dict(min_size=32), check_files=0)
        seconds = time.perf_counter() - start
        size_mb = sum(
            osp.getsize(osp.join(tmp, f)) for f in os.listdir(tmp)) / 2**20
        return len(ds), seconds, size_mb


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--num', type=int, default=200,
                        help='samples per timed round')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--images', type=int, default=16)
    parser.add_argument('--skip-index', action='store_true')
    args = parser.parse_args()

    torch.set_num_threads(1)
    cv2.setNumThreads(0)
    mmcv.adjust_hue = _fixed_adjust_hue
    import mmcv.image.photometric as photometric
    photometric.adjust_hue = _fixed_adjust_hue
    import warnings
    warnings.simplefilter('ignore')
    init_default_scope('mmselfemd')

    print(f'# {platform.processor() or platform.machine()}, '
          f'{os.cpu_count()} cores, python {platform.python_version()}, '
          f'torch {torch.__version__}, opencv {cv2.__version__}, '
          f'pillow {Image.__version__}, numpy {np.__version__}')
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        sets = {
            '640x480': make_coco_size_jpegs(tmp, args.images, (640, 480)),
            '4032x3024': make_coco_size_jpegs(tmp, args.images,
                                              (4032, 3024)),
        }
        pipelines = [
            ('mmpretrain-byol', byol_pipeline()),
            ('ours-2view', our_pipeline(False)),
            ('ours-2view-lenient', our_pipeline(False, strict_jpeg=False)),
            ('ours-2view-lenient-pillow',
             our_pipeline(False, 'pillow', strict_jpeg=False)),
            ('ours-2view-noreduce', our_pipeline(False, reduce=False)),
            ('ours-2view+4small', our_pipeline(True)),
            ('ours-2view+4small-noreduce', our_pipeline(True, reduce=False)),
        ]
        for set_name, paths in sets.items():
            # -noreduce never reduces at 640x480: the same as without
            chosen = [(name, cfg) for name, cfg in pipelines
                      if not (set_name == '640x480'
                              and name.endswith('-noreduce'))]
            rates = bench([cfg for _, cfg in chosen], paths, args.num,
                          args.repeats)
            for (name, _), rate in zip(chosen, rates):
                rows.append((set_name, name, rate, rate / rates[0]))
                print(f'{set_name:10s} {name:28s} {rate:7.1f} img/s '
                      f'{rate / rates[0]:5.2f}x', flush=True)
        reduce_cfg = Config.fromfile(CONFIG).spc_train_pipeline[0][
            'reduce_decode']
        decode_rows = []
        for set_name, reduce in [('640x480', None), ('4032x3024', None),
                                 ('4032x3024', reduce_cfg)]:
            rates = bench_decode(sets[set_name], args.num, args.repeats,
                                 reduce)
            what = set_name + (' reduce_decode' if reduce else '')
            for (name, _), rate in zip(DECODERS, rates):
                decode_rows.append((what, name, rate, rate / rates[1]))
                print(f'decode {what:26s} {name:22s} {rate:7.1f} img/s '
                      f'{rate / rates[1]:5.2f}x', flush=True)
    print('\n| images | pipeline | images/s per worker | vs mmpretrain BYOL |')
    print('|---|---|---:|---:|')
    for set_name, name, rate, rel in rows:
        print(f'| {set_name} | {name} | {rate:.1f} | {rel:.2f}x |')
    print('\n| images | decoder (LoadImageRobust) | images/s per worker | '
          'vs lenient cv2 |')
    print('|---|---|---:|---:|')
    for what, name, rate, rel in decode_rows:
        print(f'| {what} | {name} | {rate:.1f} | {rel:.2f}x |')
    if not args.skip_index:
        n, seconds, size_mb = bench_index()
        print(f'\nCocoUnlabeledDataset: indexed {n} entries from two '
              f'image-info JSONs ({size_mb:.0f} MB) in {seconds:.2f} s')


if __name__ == '__main__':
    main()
