# Copyright (c) mmselfemd contributors. All rights reserved.
"""Browse the multi-view crops of a pretraining config, as PNG grids.

For each image, one row per large view: the source image with the large
view's box and, when the pipeline has small views (e.g. the SPC ablation
config), the spatial-pyramid grid inside it and the boxes of the small
views cut from it; then the augmented large view and its small views as
the model receives them (before normalisation). Use it to check a crop
recipe on your own photos before a long run.

Usage::

    # the first 4 images of the config's training set
    python tools/analysis_tools/browse_dataset.py CONFIG [-n 4] \
        [-o work_dirs/browse_dataset] [--seed 0] [--cfg-options k=v ...]

    # your own images (files or folders) through the config's pipeline
    python tools/analysis_tools/browse_dataset.py CONFIG --images DIR ...

Writes ``OUTPUT_DIR/{index:04d}_{image name}.png`` per image.
"""
import argparse
import os
import os.path as osp
from typing import List, Optional

from mmselfemd.utils.user_errors import add_debug_argument, run_cli


def parse_args(argv: Optional[list] = None) -> argparse.Namespace:
    """Parse the command line."""
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        description='Draw the multi-view crops of a pretraining pipeline')
    parser.add_argument('config', help='pretraining config file')
    parser.add_argument(
        '--output-dir', '-o', default='work_dirs/browse_dataset',
        help='where the PNGs go')
    parser.add_argument(
        '--show-number', '-n', type=int, default=4,
        help='number of images to draw (default 4)')
    parser.add_argument(
        '--images', nargs='+',
        help='image files or folders to run the pipeline on instead of '
        "the config's training set")
    parser.add_argument(
        '--seed', type=int, default=0,
        help='seed of the augmentations; image i uses seed + i')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of the config, key=value')
    add_debug_argument(parser)
    return parser.parse_args(argv)


def image_files(paths: List[str]) -> List[str]:
    """Image files among ``paths``; a folder gives its images (sorted, not
    recursive), as ``CocoUnlabeledDataset`` lists a folder."""
    from mmselfemd.datasets import IMG_EXTENSIONS, list_images
    files = []
    for path in paths:
        if osp.isdir(path):
            files += list_images(path, recursive=False)
        elif osp.isfile(path):
            files.append(path)
        else:
            raise FileNotFoundError(f'--images: "{path}" does not exist')
    if not files:
        raise FileNotFoundError(
            f'--images: no image files ({", ".join(IMG_EXTENSIONS)}) in '
            f'{paths}')
    return files


def browse(args: argparse.Namespace) -> List[str]:
    """Draw ``--show-number`` samples; return the written files."""
    import mmcv
    from mmcv.transforms import Compose
    from mmengine.config import Config

    from mmselfemd.registry import DATASETS
    from mmselfemd.utils import register_all_modules
    from mmselfemd.visualization import (
        MultiViewVisualizer,
        find_grid_sizes,
        sample_multi_view,
        views_are_bgr,
    )

    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    dataset_cfg = cfg.train_dataloader.dataset
    pipeline = Compose(dataset_cfg.pipeline)
    if args.images:
        infos = [dict(img_path=p) for p in image_files(args.images)]
    else:
        dataset = DATASETS.build(dataset_cfg)
        infos = [
            dataset.get_data_info(i)
            for i in range(min(args.show_number, len(dataset)))
        ]
    infos = infos[:args.show_number]
    preprocessor = cfg.model.get('data_preprocessor') or cfg.get(
        'data_preprocessor')
    bgr = views_are_bgr(preprocessor)
    grid_sizes = find_grid_sizes(pipeline)
    visualizer = MultiViewVisualizer(name='browse_dataset')
    os.makedirs(args.output_dir, exist_ok=True)
    written = []
    for i, info in enumerate(infos):
        sample = sample_multi_view(
            pipeline, info, seed=args.seed + i, bgr_views=bgr)
        drawn, _ = visualizer.draw_multi_view(
            sample.source, sample.views, sample.crop_boxes, sample.flips,
            sample.parent, grid_sizes)
        name = osp.splitext(osp.basename(sample.img_path))[0]
        out = osp.join(args.output_dir, f'{i:04d}_{name}.png')
        mmcv.imwrite(drawn[..., ::-1], out)
        n_large = int((sample.parent < 0).sum())
        print(f'{out}: {sample.img_path}, {n_large} large and '
              f'{len(sample.parent) - n_large} small views')
        written.append(out)
    return written


def main(argv: Optional[list] = None) -> None:
    """Entry point; input errors end with one paragraph, exit 1."""
    args = parse_args(argv)
    run_cli(lambda: browse(args), 'tools/analysis_tools/browse_dataset.py',
            args.debug)


if __name__ == '__main__':
    main()
