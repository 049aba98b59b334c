# Copyright (c) mmselfemd contributors. All rights reserved.
"""Deterministic cluttered multi-object scenes from real photographs.

The demo needs non-iconic scene images with COCO-format boxes, without any
download. scikit-image ships real photographs; objects are cut from them
(each with a hand-set box in the source photo, or an alpha/silhouette mask)
and pasted, at random scales and positions, onto crops of texture and
scene photographs. The same ``seed`` gives byte-identical files.
"""
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Tuple

import numpy as np
from PIL import Image

# name -> (file in skimage/data, box x1, y1, x2, y2 in the source photo or
# None for the whole image, mask rule: None | 'alpha' | 'dark')
OBJECT_SOURCES: Dict[str, Tuple[str, Optional[Tuple[int, int, int, int]],
                                Optional[str]]] = {
    'person': ('astronaut.png', (20, 0, 300, 512), None),
    'cat': ('chelsea.png', (60, 0, 420, 300), None),
    'cup': ('coffee.png', (40, 10, 470, 400), None),
    'rocket': ('rocket.jpg', (200, 60, 330, 420), None),
    'motorcycle': ('motorcycle_left.png', (40, 60, 530, 350), None),
    'horse': ('horse.png', None, 'dark'),
    'logo': ('logo.png', None, 'alpha'),
}
BACKGROUND_SOURCES = ('grass.png', 'gravel.png', 'brick.png',
                      'hubble_deep_field.jpg', 'ihc.png', 'retina.jpg',
                      'rocket.jpg', 'coffee.png')
CLASSES = tuple(OBJECT_SOURCES)


def _skimage_data_dir() -> str:
    import skimage.data
    return osp.dirname(skimage.data.__file__)


def _load_sources() -> Tuple[dict, list]:
    root = _skimage_data_dir()
    objects = {}
    for name, (fname, box, mask_rule) in OBJECT_SOURCES.items():
        img = Image.open(osp.join(root, fname))
        if mask_rule == 'alpha':
            rgba = np.asarray(img.convert('RGBA'))
            rgb, mask = rgba[..., :3], rgba[..., 3] > 127
        elif mask_rule == 'dark':
            rgb = np.asarray(img.convert('RGB'))
            mask = rgb.mean(-1) < 100
        else:
            rgb = np.asarray(img.convert('RGB'))
            mask = np.ones(rgb.shape[:2], bool)
        if box is not None:
            x1, y1, x2, y2 = box
            rgb, mask = rgb[y1:y2, x1:x2], mask[y1:y2, x1:x2]
        ys, xs = np.nonzero(mask)  # crop to the mask's extent
        sl = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
        objects[name] = (rgb[sl], mask[sl])
    backgrounds = [
        np.asarray(Image.open(osp.join(root, f)).convert('RGB'))
        for f in BACKGROUND_SOURCES
    ]
    return objects, backgrounds


def _background(rng: np.random.RandomState, backgrounds: list,
                size: int) -> np.ndarray:
    src = backgrounds[rng.randint(len(backgrounds))]
    h, w = src.shape[:2]
    side = rng.randint(min(h, w) // 3, min(h, w) + 1)
    y, x = rng.randint(h - side + 1), rng.randint(w - side + 1)
    crop = Image.fromarray(src[y:y + side, x:x + side]).resize(
        (size, size), Image.BILINEAR)
    out = np.asarray(crop).astype(np.float32)
    tint = rng.uniform(0.6, 1.2, size=3)  # colour variety on gray textures
    return np.clip(out * tint, 0, 255)


def _iou(a: List[float], b: List[float]) -> float:
    ix = max(0., min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0., min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) *
             (b[3] - b[1]) - inter)
    return inter / union


def _make_scene(rng: np.random.RandomState, objects: dict, backgrounds: list,
                size: int, min_objects: int,
                max_objects: int) -> Tuple[np.ndarray, list]:
    canvas = _background(rng, backgrounds, size)
    anns: List[Tuple[int, List[float]]] = []
    num = rng.randint(min_objects, max_objects + 1)
    for _ in range(num * 4):  # bounded number of placement attempts
        if len(anns) == num:
            break
        label = rng.randint(len(CLASSES))
        rgb, mask = objects[CLASSES[label]]
        long_side = rng.uniform(0.22, 0.5) * size
        scale = long_side / max(rgb.shape[:2])
        w = max(8, int(round(rgb.shape[1] * scale)))
        h = max(8, int(round(rgb.shape[0] * scale)))
        x, y = rng.randint(0, size - w + 1), rng.randint(0, size - h + 1)
        box = [float(x), float(y), float(x + w), float(y + h)]
        if any(_iou(box, b) > 0.25 for _, b in anns):
            continue
        obj = np.asarray(Image.fromarray(rgb).resize((w, h),
                                                     Image.BILINEAR))
        m = np.asarray(Image.fromarray(mask.astype(np.uint8) * 255).resize(
            (w, h), Image.NEAREST)) > 127
        if rng.rand() < 0.5:
            obj, m = obj[:, ::-1], m[:, ::-1]
        obj = obj.astype(np.float32) * rng.uniform(0.8, 1.2)
        region = canvas[y:y + h, x:x + w]
        region[m] = obj[m]
        anns.append((label, box))
    return np.clip(canvas, 0, 255).astype(np.uint8), anns


def make_demo_scenes(out_dir: str,
                     num_train: int = 240,
                     num_val: int = 60,
                     num_unlabeled: int = 120,
                     size: int = 224,
                     seed: int = 0,
                     min_objects: int = 2,
                     max_objects: int = 5,
                     num_test: int = 0) -> Dict[str, str]:
    """Write the demo data set: cluttered scenes with COCO-format boxes.

    Layout (COCO-like)::

        out_dir/
            train/  val/  unlabeled/  [test/]   JPEG scenes
            annotations/instances_train.json   boxes, categories
            annotations/instances_val.json     boxes, categories
            annotations/instances_test.json    (with num_test > 0)
            annotations/image_info_unlabeled.json   images only
            annotations/image_info_pretrain.json    train + unlabeled images

    Args:
        out_dir (str): Output folder (created).
        num_train (int): Labelled training scenes. Defaults to 240.
        num_val (int): Held-out labelled scenes. Defaults to 60.
        num_unlabeled (int): Extra unlabeled scenes. Defaults to 120.
        size (int): Side of the square scenes in pixels. Defaults to 224.
        seed (int): Random seed; equal seeds give identical files.
        min_objects (int): Fewest objects in a scene. Defaults to 2.
        max_objects (int): Most objects in a scene. Defaults to 5.
        num_test (int): A second held-out labelled split (``test``), for
            studies that choose settings on ``val`` and report on ``test``.
            Its scenes are drawn after all the others, so the other splits
            are the same with or without it. Defaults to 0 (none).

    Returns:
        dict: Paths of the annotation files, keyed ``train``, ``val``,
        ``unlabeled``, ``pretrain`` and (with ``num_test``) ``test``.
    """
    objects, backgrounds = _load_sources()
    rng = np.random.RandomState(seed)
    ann_dir = osp.join(out_dir, 'annotations')
    os.makedirs(ann_dir, exist_ok=True)
    categories = [
        dict(id=i + 1, name=name, supercategory='demo')
        for i, name in enumerate(CLASSES)
    ]
    splits = {}
    ann_id = 1
    sizes = [('train', num_train), ('val', num_val),
             ('unlabeled', num_unlabeled)]
    if num_test:
        sizes.append(('test', num_test))
    for split, num in sizes:
        os.makedirs(osp.join(out_dir, split), exist_ok=True)
        images, annotations = [], []
        for i in range(num):
            img, anns = _make_scene(rng, objects, backgrounds, size,
                                    min_objects, max_objects)
            img_id = len(images) + 1
            fname = f'{split}_{i:05d}.jpg'
            Image.fromarray(img).save(
                osp.join(out_dir, split, fname), quality=92)
            images.append(
                dict(id=img_id, file_name=fname, width=size, height=size))
            for label, (x1, y1, x2, y2) in anns:
                w, h = x2 - x1, y2 - y1
                annotations.append(
                    dict(id=ann_id, image_id=img_id, category_id=label + 1,
                         bbox=[x1, y1, w, h], area=w * h, iscrowd=0))
                ann_id += 1
        splits[split] = (images, annotations)

    paths = {}
    for split in ('train', 'val') + (('test', ) if num_test else ()):
        images, annotations = splits[split]
        paths[split] = osp.join(ann_dir, f'instances_{split}.json')
        with open(paths[split], 'w') as f:
            json.dump(dict(images=images, annotations=annotations,
                           categories=categories), f)
    paths['unlabeled'] = osp.join(ann_dir, 'image_info_unlabeled.json')
    with open(paths['unlabeled'], 'w') as f:
        json.dump(dict(images=splits['unlabeled'][0]), f)
    # pretraining index: every image not held out, no labels at all
    pretrain = [
        dict(im, file_name=f'{split}/{im["file_name"]}')
        for split in ('train', 'unlabeled') for im in splits[split][0]
    ]
    for i, im in enumerate(pretrain):
        im['id'] = i + 1
    paths['pretrain'] = osp.join(ann_dir, 'image_info_pretrain.json')
    with open(paths['pretrain'], 'w') as f:
        json.dump(dict(images=pretrain), f)
    return paths
