# Copyright (c) mmselfemd contributors. All rights reserved.
"""A small PASCAL VOC tree of generated scenes, for tests and smoke runs.

The scenes are those of :mod:`projects.demo.demo_scenes` (objects cut
from scikit-image photographs, pasted on photo backgrounds); each object
gets the nearest of the 20 VOC class names (loosely for the cup, the rocket
and the logo) and is written as a VOC XML annotation, in the layout that
mmdet's ``VOCDataset`` and our VOC transfer configs read::

    VOCdevkit/
        VOC2007/JPEGImages/000001.jpg ...
        VOC2007/Annotations/000001.xml ...
        VOC2007/ImageSets/Main/trainval.txt, test.txt
        VOC2012/JPEGImages/2012_000001.jpg ...
        VOC2012/Annotations/2012_000001.xml ...
        VOC2012/ImageSets/Main/trainval.txt

No VOC image is shipped or downloaded; the same ``seed`` gives the same
files.
"""
import os
import os.path as osp
import xml.etree.ElementTree as ET
from typing import Dict, Optional

import numpy as np
from PIL import Image

from .demo_scenes import CLASSES, _load_sources, _make_scene

#: Scene class -> VOC class name written in the XML.
VOC_NAMES: Dict[str, str] = {
    'person': 'person',
    'cat': 'cat',
    'cup': 'bottle',
    'rocket': 'aeroplane',
    'motorcycle': 'motorbike',
    'horse': 'horse',
    'logo': 'tvmonitor',
}

#: Images per (year, split) of the default tree: the 07+12 protocol's
#: three split files, a handful of images each.
DEFAULT_SPLITS: Dict[str, Dict[str, int]] = {
    'VOC2007': {
        'trainval': 4,
        'test': 3
    },
    'VOC2012': {
        'trainval': 3
    },
}


def _text(parent: ET.Element, tag: str, value) -> ET.Element:
    child = ET.SubElement(parent, tag)
    child.text = str(value)
    return child


def voc_annotation(year: str, filename: str, width: int, height: int,
                   objects) -> ET.ElementTree:
    """A VOC annotation XML.

    Args:
        year (str): ``'VOC2007'`` or ``'VOC2012'`` (the ``<folder>``).
        filename (str): The JPEG's file name.
        width (int): Image width in pixels.
        height (int): Image height in pixels.
        objects (Iterable[tuple[str, tuple]]): ``(class name, (x1, y1, x2,
            y2))`` per object, in 0-based pixel coordinates with exclusive
            ends; written as VOC's 1-based inclusive integers.

    Returns:
        xml.etree.ElementTree.ElementTree: The annotation.
    """
    root = ET.Element('annotation')
    _text(root, 'folder', year)
    _text(root, 'filename', filename)
    source = ET.SubElement(root, 'source')
    _text(source, 'database', 'mmselfemd generated scenes')
    size = ET.SubElement(root, 'size')
    _text(size, 'width', width)
    _text(size, 'height', height)
    _text(size, 'depth', 3)
    _text(root, 'segmented', 0)
    for name, (x1, y1, x2, y2) in objects:
        obj = ET.SubElement(root, 'object')
        _text(obj, 'name', name)
        _text(obj, 'pose', 'Unspecified')
        _text(obj, 'truncated', 0)
        _text(obj, 'difficult', 0)
        box = ET.SubElement(obj, 'bndbox')
        _text(box, 'xmin', int(round(x1)) + 1)
        _text(box, 'ymin', int(round(y1)) + 1)
        _text(box, 'xmax', int(round(x2)))
        _text(box, 'ymax', int(round(y2)))
    tree = ET.ElementTree(root)
    ET.indent(tree)
    return tree


def make_demo_voc(out_dir: str,
                  splits: Optional[Dict[str, Dict[str, int]]] = None,
                  size: int = 128,
                  seed: int = 0,
                  min_objects: int = 1,
                  max_objects: int = 3) -> str:
    """Write a VOCdevkit tree of generated scenes.

    Args:
        out_dir (str): Folder in which ``VOCdevkit/`` is created.
        splits (dict, optional): ``{year: {split: number of images}}``.
            Defaults to :data:`DEFAULT_SPLITS` (VOC2007 trainval 4, test 3;
            VOC2012 trainval 3).
        size (int): Side of the square images in pixels. Defaults to 128.
        seed (int): Random seed. Defaults to 0.
        min_objects (int): Fewest objects per image. Defaults to 1.
        max_objects (int): Most objects per image. Defaults to 3.

    Returns:
        str: The path of ``VOCdevkit/``.
    """
    splits = DEFAULT_SPLITS if splits is None else splits
    objects, backgrounds = _load_sources()
    rng = np.random.RandomState(seed)
    devkit = osp.join(out_dir, 'VOCdevkit')
    for year, year_splits in splits.items():
        folder = osp.join(devkit, year)
        for sub in ('JPEGImages', 'Annotations', 'ImageSets/Main'):
            os.makedirs(osp.join(folder, sub), exist_ok=True)
        # VOC2007 ids are 000001, ...; VOC2012 ones 2012_000001, ...
        id_prefix = '' if year == 'VOC2007' else f'{year[3:]}_'
        index = 0
        for split, num in year_splits.items():
            ids = []
            for _ in range(num):
                index += 1
                img_id = f'{id_prefix}{index:06d}'
                img, anns = _make_scene(rng, objects, backgrounds, size,
                                        min_objects, max_objects)
                Image.fromarray(img).save(
                    osp.join(folder, 'JPEGImages', f'{img_id}.jpg'),
                    quality=92)
                voc_annotation(
                    year, f'{img_id}.jpg', size, size,
                    [(VOC_NAMES[CLASSES[label]], box)
                     for label, box in anns]).write(
                         osp.join(folder, 'Annotations', f'{img_id}.xml'))
                ids.append(img_id)
            with open(osp.join(folder, 'ImageSets', 'Main', f'{split}.txt'),
                      'w') as f:
                f.writelines(f'{i}\n' for i in ids)
    return devkit
