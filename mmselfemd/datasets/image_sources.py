# Copyright (c) mmselfemd contributors. All rights reserved.
"""The image sources of ``CocoUnlabeledDataset``: COCO JSONs, lists, folders.

Each loader turns one source dict (paths already joined to ``data_root``)
into data infos; :func:`unique_by_real_path` drops images that several
sources list. See ``docs/en/user_guides/dataset_prepare.md`` for the
source types.
"""
import functools
import json
import os.path as osp
import re
from typing import Callable, Iterable, List, Optional, Tuple

import mmengine.fileio as fileio

from .list_images import list_images

SOURCE_TYPES = ('coco_json', 'folder', 'list')

_WS = re.compile(r'\s*')


def join_path(root: str, path: str) -> str:
    """Join a relative local ``path`` to ``root``.

    Args:
        root (str): The root folder (or URI); empty for none.
        path (str): A path; absolute paths and URIs are kept.

    Returns:
        str: ``path`` joined to ``root``, or ``path`` as it is.
    """
    if not root or not path or osp.isabs(path) or '://' in path:
        return path
    return fileio.join_path(root, path)


def read_coco_images(text: str, path: str = '<json>') -> list:
    """Return the top-level ``images`` list of a COCO JSON text.

    Top-level values are decoded in file order and decoding stops at
    ``images``; COCO files put ``images`` before ``annotations``, so the
    annotations of ``instances_train2017.json`` (most of its 448 MB) are
    never parsed.

    Args:
        text (str): The JSON text.
        path (str): The file's name, for error messages.

    Returns:
        list: The ``images`` entries.

    Raises:
        ValueError: If the text is not a JSON object with an ``images``
            list.
    """
    decoder = json.JSONDecoder()
    try:
        idx = _WS.match(text, 0).end()
        if text[idx:idx + 1] != '{':
            raise ValueError('not a JSON object')
        idx += 1
        while True:
            idx = _WS.match(text, idx).end()
            if text[idx:idx + 1] == '}':
                break
            key, idx = decoder.raw_decode(text, idx)
            idx = _WS.match(text, idx).end()
            if text[idx:idx + 1] != ':':
                raise ValueError(f'expected ":" at character {idx}')
            idx = _WS.match(text, idx + 1).end()
            value, idx = decoder.raw_decode(text, idx)
            if key == 'images':
                if not isinstance(value, list):
                    break
                return value
            idx = _WS.match(text, idx).end()
            if text[idx:idx + 1] == ',':
                idx += 1
    except (ValueError, IndexError) as e:
        raise ValueError(f'CocoUnlabeledDataset: cannot parse {path} as '
                         f'COCO JSON: {e}') from e
    raise ValueError(
        f'CocoUnlabeledDataset: {path} has no "images" list; expected a '
        'COCO-style JSON such as image_info_unlabeled2017.json')


def _require_ann_file(path: str) -> None:
    """Fail with a message naming the missing annotation file."""
    if '://' not in path and not osp.isfile(path):
        raise FileNotFoundError(
            f'CocoUnlabeledDataset: annotation file "{path}" does not exist. '
            'Expected ann_file (joined to data_root) to be a COCO-format '
            'JSON with an "images" list, or a text file with one image '
            'path per line; check data_root and ann_file, or set '
            "ann_file='' to read every image under data_root/"
            'data_prefix.img.')


def _load_coco_json(src: dict, backend_args: Optional[dict]) -> List[dict]:
    """Infos of the ``images`` of a COCO JSON, with their id and size."""
    path = src['ann_file']
    _require_ann_file(path)
    text = fileio.get_text(path, backend_args=backend_args)
    images = read_coco_images(text, path)
    del text
    prefix = src.get('img_prefix', '')
    out = []
    for i, img in enumerate(images):
        try:
            name = img['file_name']
        except (KeyError, TypeError):
            raise ValueError(
                f'CocoUnlabeledDataset: {path}: images[{i}] has no '
                f'"file_name": {img!r}') from None
        info = dict(
            img_path=join_path(prefix, name),
            img_id=img.get('id'),
            width=img.get('width'),
            height=img.get('height'))
        out.append({k: v for k, v in info.items() if v is not None})
    return out


def _load_list(src: dict, backend_args: Optional[dict]) -> List[dict]:
    """Infos of a text file's paths (blank lines and comments skipped)."""
    path = src['ann_file']
    _require_ann_file(path)
    text = fileio.get_text(path, backend_args=backend_args)
    prefix = src.get('img_prefix', '')
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith('#'):
            out.append(dict(img_path=join_path(prefix, line)))
    return out


def _load_folder(src: dict, backend_args: Optional[dict]) -> List[dict]:
    """Infos of the image files of a folder, sorted."""
    folder = src['path']
    if '://' not in folder and not osp.isdir(folder):
        raise FileNotFoundError(
            f'CocoUnlabeledDataset: image folder "{folder}" does not '
            'exist (check data_root and the folder path)')
    return [
        dict(img_path=p)
        for p in list_images(folder, src.get('recursive', True), backend_args)
    ]


_LOADERS = dict(
    coco_json=_load_coco_json, folder=_load_folder, list=_load_list)


def load_source(src: dict, backend_args: Optional[dict] = None) -> List[dict]:
    """Read the images of one source.

    Args:
        src (dict): A source: ``type`` (one of :data:`SOURCE_TYPES`) and
            ``ann_file`` and ``img_prefix`` (``coco_json``, ``list``) or
            ``path`` and ``recursive`` (``folder``), paths joined to the
            data root.
        backend_args (dict, optional): mmengine file backend arguments.

    Returns:
        list[dict]: ``img_path`` plus, from a JSON, ``img_id``, ``width``
        and ``height`` (where given) per image, in file order (folders
        sorted).
    """
    return _LOADERS[src['type']](src, backend_args)


def _real_path(path: str, real_dir: Callable[[str], str]) -> str:
    """Key used to de-duplicate images listed by several sources.

    The real path of a local file: absolute, normalised, with symbolic
    links resolved (of the folders and of the file itself), so that a
    relative and an absolute path, or a link and its target, are one file.
    ``real_dir`` resolves a folder (cached by the caller), so a file costs
    one ``lstat``. URLs are compared as they are.
    """
    if '://' in path:
        return path
    folder, name = osp.split(path)
    real = osp.join(real_dir(folder or '.'), name)
    return osp.realpath(real) if osp.islink(real) else real


def unique_by_real_path(
        infos: Iterable[dict]) -> Tuple[List[dict], int, List[str]]:
    """Keep the first info of each image, comparing real paths.

    Args:
        infos (Iterable[dict]): Data infos with ``img_path``, in order.

    Returns:
        tuple[list[dict], int, list[str]]: The infos kept (in order), the
        number of duplicates dropped and up to 3 of them described as
        ``'"path" is "first path"'``.
    """
    real_dir = functools.lru_cache(maxsize=None)(osp.realpath)
    first = {}  # real path -> first listed path
    kept, num_duplicates, examples = [], 0, []
    for info in infos:
        key = _real_path(info['img_path'], real_dir)
        if key in first:
            num_duplicates += 1
            if len(examples) < 3:
                examples.append(f'"{info["img_path"]}" is "{first[key]}"')
            continue
        first[key] = info['img_path']
        kept.append(info)
    return kept, num_duplicates, examples
