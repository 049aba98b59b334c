# Copyright (c) mmselfemd contributors. All rights reserved.
"""Check a COCO (or any) image folder before a long pretraining run.

Examples::

    # counts per source, files listed in JSONs but missing on disk
    python tools/misc/check_coco_folder.py data/coco
    # also decode every image (with 2 processes) and list unreadable ones
    python tools/misc/check_coco_folder.py data/coco --decode --workers 2 \\
        --bad-list work_dirs/bad_images.txt
    # print the train2017 + unlabeled2017 dataset config for what was found
    python tools/misc/check_coco_folder.py data/coco --print-config
    # any folder of images
    python tools/misc/check_coco_folder.py /path/to/photos --folder
    # a VOCdevkit tree is checked as tools/misc/check_voc_folder.py does
    python tools/misc/check_coco_folder.py data/VOCdevkit
"""
import argparse
import os.path as osp
import sys

from mmselfemd.datasets import CocoUnlabeledDataset
from mmselfemd.datasets.unreadable_images import find_unreadable_images
from mmselfemd.datasets.voc_devkit_check import find_devkit

# (image folder, image-info JSON candidates in order of preference)
COCO_SPLITS = [
    ('train2017', ['instances_train2017.json', 'image_info_train2017.json']),
    ('unlabeled2017', ['image_info_unlabeled2017.json']),
]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Count, check and decode the images of a COCO folder or '
        'any image folder, and print the dataset config for it.')
    parser.add_argument('root', help='data root, e.g. data/coco')
    parser.add_argument(
        '--folder',
        action='store_true',
        help='treat root as a plain image folder (scanned recursively)')
    parser.add_argument(
        '--decode',
        action='store_true',
        help='decode every image (slow: about 2-4 ms per COCO image and '
        'process) and report unreadable files')
    parser.add_argument('--workers', type=int, default=1)
    parser.add_argument(
        '--bad-list', help='write the unreadable files here, one a line')
    parser.add_argument(
        '--print-config',
        action='store_true',
        help='print a train_dataloader.dataset config for what was found')
    return parser.parse_args(argv)


def find_coco_sources(root):
    """Return [(split, json_relpath or None, folder)] found under root."""
    found = []
    for split, candidates in COCO_SPLITS:
        if not osp.isdir(osp.join(root, split)):
            continue
        ann = None
        for name in candidates:
            if osp.isfile(osp.join(root, 'annotations', name)):
                ann = f'annotations/{name}'
                break
        found.append((split, ann))
    return found


def dataset_config(root, found):
    """A ``train_dataloader.dataset`` config snippet (as text).

    Args:
        root (str): The data root.
        found (list): ``(split, ann_file or None)`` per COCO split found;
            empty for a plain image folder, which the dataset then scans
            (``data_root`` with neither ``ann_file`` nor ``sources``).

    Returns:
        str: The config text.
    """
    lines = ['train_dataloader = dict(', '    dataset=dict(',
             "        type='CocoUnlabeledDataset',",
             f"        data_root='{root.rstrip('/')}/',"]
    sources = []
    for split, ann in found:
        if ann:
            sources.append(f"dict(type='coco_json', ann_file='{ann}', "
                           f"img_prefix='{split}/')")
        else:
            sources.append(f"dict(type='folder', path='{split}/')")
    if sources:
        lines.append('        sources=[')
        lines += [f'            {s},' for s in sources]
        lines.append('        ],')
    lines += ["        ann_file='',", '    ))']
    return '\n'.join(lines)


def check_voc_tree(args) -> int:
    """Check a VOCdevkit tree with check_voc_folder.py (same options)."""
    from check_voc_folder import main as check_voc  # tools/misc/
    print(f'"{args.root}" is a VOCdevkit tree: checking it as '
          'tools/misc/check_voc_folder.py does.')
    argv = [args.root]
    if args.decode:
        argv += ['--decode', '--workers', str(args.workers)]
    if args.bad_list:
        argv += ['--bad-list', args.bad_list]
    if args.print_config:
        argv.append('--print-config')
    return check_voc(argv)


def main(argv=None):
    args = parse_args(argv)
    root = args.root
    if args.folder:
        found = []
        datasets = [('folder', CocoUnlabeledDataset(
            data_root=root, check_files=0, lazy_init=True))]
    else:
        found = find_coco_sources(root)
        if not found and find_devkit(root):
            return check_voc_tree(args)
        if not found:
            sys.exit(f'No train2017/ or unlabeled2017/ folder under "{root}"; '
                     'use --folder for a plain image folder.')
        datasets = []
        for split, ann in found:
            kwargs = dict(data_root=root, check_files=0, lazy_init=True,
                          data_prefix=dict(img=f'{split}/'))
            if ann:
                kwargs['ann_file'] = ann
            datasets.append((split, CocoUnlabeledDataset(**kwargs)))

    all_paths, seen = [], set()
    for name, ds in datasets:
        ds.full_init()
        paths = [ds.get_data_info(i)['img_path'] for i in range(len(ds))]
        missing = [p for p in paths if not osp.isfile(p)]
        source = ds.ann_file or ds.data_prefix.get('img') or root
        print(f'{name}: {len(paths)} images listed by {source}, '
              f'{len(missing)} missing on disk')
        for p in missing[:10]:
            print(f'  missing: {p}')
        for p in paths:
            if p not in seen:
                seen.add(p)
                all_paths.append(p)
    print(f'total: {len(all_paths)} distinct images')

    if args.decode:
        # one line per 10 % (or minute) when stdout is not a terminal
        find_unreadable_images(all_paths, workers=args.workers,
                               bad_list=args.bad_list)
    if args.print_config:
        what = 'image folder' if args.folder else 'layout found'
        print(f'\n# dataset config for the {what}:')
        print(dataset_config(root, found))


if __name__ == '__main__':
    sys.exit(main())
