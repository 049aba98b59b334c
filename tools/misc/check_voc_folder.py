# Copyright (c) mmselfemd contributors. All rights reserved.
"""Check a PASCAL VOC tree (VOCdevkit) before a VOC transfer run.

Reports the split files found, then one paragraph per kind of fault, with
the files: split files missing or empty, ids without a JPEG or an XML, XMLs
that do not parse, ``<size>`` other than the JPEG's, class names outside
the config's classes (the 20 VOC classes). Exits 1 when it found any.

Examples::

    python tools/misc/check_voc_folder.py data/VOCdevkit
    # also decode every JPEG (2 processes), list unreadable ones
    python tools/misc/check_voc_folder.py data/VOCdevkit --decode --workers 2
    # a config that reads the tree found, on top of a VOC config
    python tools/misc/check_voc_folder.py /data/VOCdevkit --print-config \\
        | sed -n '/^# dataset config/,$p' > work_dirs/voc_here.py
"""
import argparse
import copy
import os.path as osp
import sys
from typing import List, Optional

from mmengine.config import Config

from mmselfemd.datasets.unreadable_images import find_unreadable_images
from mmselfemd.datasets.voc_devkit_check import (
    PROTOCOL_SPLITS,
    VOCCheckResult,
    check_voc_devkit,
)
from mmselfemd.utils.user_errors import add_debug_argument, run_cli

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_CONFIG = osp.join(
    REPO, 'configs', 'benchmarks', 'mmdetection', 'voc',
    'faster-rcnn_r50-pre_c4-syncbn_8xb2-ms-24k_voc0712.py')
PROG = 'tools/misc/check_voc_folder.py'


def parse_args(argv=None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description='Check a VOCdevkit tree (split files, JPEGs, XMLs, '
        'sizes, class names) and print the dataset config for it.')
    parser.add_argument(
        'root', help='the VOCdevkit folder (or its parent), e.g. '
        'data/VOCdevkit')
    parser.add_argument(
        '--config',
        default=DEFAULT_CONFIG,
        help='the VOC transfer config whose classes are checked and on '
        'which --print-config builds (default: the R50-C4 config)')
    parser.add_argument(
        '--decode',
        action='store_true',
        help='also decode every JPEG and report unreadable files')
    parser.add_argument('--workers', type=int, default=1,
                        help='decoding processes (with --decode)')
    parser.add_argument(
        '--bad-list', help='write the unreadable files here, one a line')
    parser.add_argument(
        '--print-config',
        action='store_true',
        help='print a config (on top of --config) whose dataloaders read '
        'the split files found')
    parser.add_argument(
        '--max-names',
        type=int,
        default=5,
        help='files named per kind of fault; the rest are counted')
    add_debug_argument(parser)
    return parser.parse_args(argv)


def _train_datasets(cfg: Config) -> list:
    """The VOC datasets of ``train_dataloader`` (inside a ConcatDataset or
    a RepeatDataset, or alone)."""
    dataset = cfg.train_dataloader.dataset
    while dataset.get('type') == 'RepeatDataset':
        dataset = dataset.dataset
    return list(dataset.datasets) if 'datasets' in dataset else [dataset]


def config_classes(cfg: Config) -> Optional[tuple]:
    """The class names the config's training datasets set, if any."""
    for dataset in _train_datasets(cfg):
        classes = (dataset.get('metainfo') or {}).get('classes')
        if classes:
            return tuple(classes)
    return None


def _dict_text(entry: dict, indent: int, refs: dict) -> str:
    """``dict(...)`` with one key a line; values in ``refs`` by name."""
    pad = ' ' * (indent + 4)
    items = [f'{pad}{k}={refs.get(k, repr(v))}' for k, v in entry.items()]
    return 'dict(\n' + ',\n'.join(items) + ')'


def dataset_config(result: VOCCheckResult,
                   config: str,
                   cfg: Optional[Config] = None) -> str:
    """A config that reads the split files found, on top of ``config``.

    Its training set concatenates the trainval splits found (each dataset
    entry copied from ``config``'s entry for that year, or its first one,
    with ``data_root`` set to the tree found, as an absolute path; a
    pipeline equal to the config's ``train_pipeline`` is written as
    ``{{_base_.train_pipeline}}``);
    validation and test read VOC2007 test when it was found. What was not
    found stays as in ``config``.

    Args:
        result (VOCCheckResult): What the check found.
        config (str): The VOC transfer config to build on.
        cfg (Config, optional): ``config`` loaded, if it already is.

    Returns:
        str: The config text, starting with a ``# dataset config for the
        VOCdevkit found`` comment and ``_base_ = config``.
    """
    cfg = Config.fromfile(config) if cfg is None else cfg
    templates = _train_datasets(cfg)
    base_pipeline = cfg.get('train_pipeline')
    lines = [
        '# dataset config for the VOCdevkit found: ' +
        (', '.join(f'{y} {s}' for y, s in result.splits) or
         'no split file of the protocol'),
        f'_base_ = {osp.abspath(config)!r}',
        f"data_root = {osp.abspath(result.devkit) + '/'!r}",
    ]
    train = []
    for year, split in PROTOCOL_SPLITS:
        if split != 'trainval' or (year, split) not in result.splits:
            continue
        template = next(
            (d for d in templates
             if d.get('data_prefix', {}).get('sub_data_root') == f'{year}/'),
            templates[0])
        entry = copy.deepcopy(template.to_dict())
        entry.update(
            data_root=None,
            ann_file=f'{year}/ImageSets/Main/{split}.txt',
            data_prefix=dict(sub_data_root=f'{year}/'))
        refs = dict(data_root='data_root')
        if base_pipeline is not None and \
                entry.get('pipeline') == base_pipeline:
            refs['pipeline'] = '{{_base_.train_pipeline}}'
        train.append(' ' * 12 + _dict_text(entry, 12, refs))
    if train:
        lines.append(
            'train_dataloader = dict(\n    dataset=dict(\n'
            "        _delete_=True,\n        type='ConcatDataset',\n"
            "        ignore_keys=['dataset_type'],\n"
            '        datasets=[\n' + ',\n'.join(train) + '\n        ]))')
    else:
        lines.append('# no trainval split found: train_dataloader as in '
                     'the config')
    if ('VOC2007', 'test') in result.splits:
        lines += [
            'val_dataloader = dict(\n    dataset=dict(\n'
            '        data_root=data_root,\n'
            "        ann_file='VOC2007/ImageSets/Main/test.txt',\n"
            "        data_prefix=dict(sub_data_root='VOC2007/')))",
            'test_dataloader = val_dataloader'
        ]
    else:
        lines.append('# no VOC2007 test split found: val/test_dataloader as '
                     'in the config')
    return '\n'.join(lines)


def check(args: argparse.Namespace) -> int:
    """Run the checks; return the exit status (1 if faults were found)."""
    cfg = Config.fromfile(args.config)
    result = check_voc_devkit(args.root, classes=config_classes(cfg))
    for line in result.summary():
        print(line)
    bad: List = []
    if args.decode:
        bad = find_unreadable_images(result.jpegs, workers=args.workers,
                                     bad_list=args.bad_list)
    paragraphs = result.paragraphs(args.max_names)
    for paragraph in paragraphs:
        print(f'{PROG}: error: {paragraph}', file=sys.stderr)
    if paragraphs or bad:
        print(f'{len(paragraphs) + bool(bad)} kinds of fault found; fix '
              'them before training (details on stderr).')
    else:
        print('no fault found')
    if args.print_config:  # last, so that it can be cut off as a file
        print(dataset_config(result, args.config, cfg))
    return 1 if paragraphs or bad else 0


def main(argv=None) -> int:
    """Entry point: exit 1 with one paragraph per kind of fault."""
    args = parse_args(argv)
    status = []
    run_cli(lambda: status.append(check(args)), PROG, args.debug)
    return status[0]


if __name__ == '__main__':
    sys.exit(main())
