# Copyright (c) mmselfemd contributors. All rights reserved.
import json
import logging
import os.path as osp
import re
from typing import Callable, Dict, List, Optional, Sequence, Union

import mmengine.fileio as fileio
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from mmselfemd.registry import DATASETS

from .list_images import list_images

SOURCE_TYPES = ('coco_json', 'folder', 'list')


def _join(root: str, path: str) -> str:
    if not root or not path or osp.isabs(path) or '://' in path:
        return path
    return fileio.join_path(root, path)


_WS = re.compile(r'\s*')


def read_coco_images(text: str, path: str = '<json>') -> list:
    """Return the top-level ``images`` list of a COCO JSON text.

    Top-level values are decoded in file order and decoding stops at
    ``images``; COCO files put ``images`` before ``annotations``, so the
    annotations of ``instances_train2017.json`` (most of its 448 MB) are
    never parsed.

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


def _real_path(path: str, real_dirs: Dict[str, str]) -> str:
    """Key used to de-duplicate images listed by several sources.

    The real path of a local file: absolute, normalised, with symbolic
    links resolved (of the folders and of the file itself), so that a
    relative and an absolute path, or a link and its target, are one file.
    Folders are resolved once (``real_dirs`` caches them), so a file costs
    one ``lstat``. URLs are compared as they are.
    """
    if '://' in path:
        return path
    folder, name = osp.split(path)
    real_dir = real_dirs.get(folder)
    if real_dir is None:
        real_dir = real_dirs[folder] = osp.realpath(folder or '.')
    real = osp.join(real_dir, name)
    return osp.realpath(real) if osp.islink(real) else real


@DATASETS.register_module()
class CocoUnlabeledDataset(BaseDataset):
    """Images without any labels: COCO JSON files, folders and file lists.

    The single-JSON case takes mmengine's usual arguments::

        dict(type='CocoUnlabeledDataset', data_root='data/coco/',
             ann_file='annotations/image_info_unlabeled2017.json',
             data_prefix=dict(img='unlabeled2017/'), pipeline=...)

    More sources are combined with ``sources`` (each path is relative to
    ``data_root`` unless absolute):

    - ``dict(type='coco_json', ann_file=..., img_prefix=...)``: a COCO-style
      JSON; only its ``images`` list (``file_name``, optional ``width``,
      ``height``, ``id``) is read, ``categories`` / ``annotations`` may be
      absent or present and are ignored.
    - ``dict(type='folder', path=..., recursive=True)``: image files found
      by extension (``IMG_EXTENSIONS``, case-insensitive), sorted.
    - ``dict(type='list', ann_file=..., img_prefix=...)``: a text file with
      one image path per line (blank lines and ``#`` comments skipped).

    ``ann_file`` (if given) is the first source: a ``.json`` file is read as
    ``coco_json``, anything else as ``list``, with ``data_prefix['img']`` as
    the image prefix. With neither ``ann_file`` nor ``sources`` the folder
    ``data_prefix['img']`` is scanned.

    Entries keep source order (then file order, folders sorted); an image
    listed twice is kept once, at its first place. Images are the same when
    their real paths are (symbolic links resolved, relative and absolute
    paths alike); the number of dropped duplicates is logged with examples.
    Nothing is decoded at start-up: ``filter_cfg=dict(min_size=64)`` (or
    ``min_width`` / ``min_height``) drops images whose JSON ``width`` /
    ``height`` are smaller, and logs how many; images without size metadata
    (folders, lists) are kept here and checked when loaded:
    ``LoadImageRobust`` skips, names and counts images whose decoded shorter
    side is below its ``min_size`` (64 by default).
    ``indices`` and ``lazy_init`` work as in ``BaseDataset``.

    Unreadable files: with ``LoadImageRobust`` in the pipeline a bad file
    makes the pipeline return None and mmengine refetches another index
    (``max_refetch``). The dataset fails fast when most of it is unreadable:

    - at ``full_init``, up to ``check_files`` entries (evenly spaced) are
      tested for existence; if more than ``max_bad_ratio`` of them are
      missing a ``FileNotFoundError`` names ``data_root``, the prefixes and
      examples (typically a wrong ``data_root``);
    - while loading, each process counts pipeline failures; once at least
      ``min_bad_to_fail`` samples failed and they are more than
      ``max_bad_ratio`` of all attempts, a ``RuntimeError`` stops the run.

    Args:
        ann_file (str): Optional COCO JSON or list file. Defaults to ''.
        data_root (str): Root of all relative paths. Defaults to ''.
        data_prefix (dict): ``dict(img=...)``, the image prefix of
            ``ann_file`` or the folder to scan. Defaults to ``dict(img='')``.
        sources (list[dict], optional): Further sources, see above.
        filter_cfg (dict, optional): ``min_size`` or ``min_width`` /
            ``min_height`` in pixels.
        check_files (int): Entries checked for existence at start-up; 0
            disables. Defaults to 64.
        max_bad_ratio (float): Fraction of bad files that is fatal.
            Defaults to 0.5.
        min_bad_to_fail (int): Failures needed before the ratio is applied
            while loading. Defaults to 20.
        backend_args (dict, optional): mmengine file backend arguments.
        **kwargs: ``metainfo``, ``pipeline``, ``test_mode``, ``lazy_init``,
            ``indices``, ``serialize_data``, ``max_refetch`` of
            ``BaseDataset``.
    """

    METAINFO: dict = dict(classes=())

    def __init__(self,
                 ann_file: str = '',
                 data_root: str = '',
                 data_prefix: dict = dict(img=''),  # noqa: B006
                 sources: Optional[List[dict]] = None,
                 filter_cfg: Optional[dict] = None,
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 check_files: int = 64,
                 max_bad_ratio: float = 0.5,
                 min_bad_to_fail: int = 20,
                 backend_args: Optional[dict] = None,
                 **kwargs) -> None:
        if not 0 < max_bad_ratio <= 1:
            raise ValueError(f'CocoUnlabeledDataset: max_bad_ratio must be in '
                             f'(0, 1], got {max_bad_ratio}')
        self.sources = [dict(s) for s in (sources or [])]
        for i, src in enumerate(self.sources):
            if src.get('type') not in SOURCE_TYPES:
                raise ValueError(
                    f'CocoUnlabeledDataset: sources[{i}] has type '
                    f"{src.get('type')!r}; expected one of {SOURCE_TYPES}")
        if filter_cfg is not None:
            unknown = set(filter_cfg) - {'min_size', 'min_width',
                                         'min_height'}
            if unknown:
                raise ValueError(
                    f'CocoUnlabeledDataset: unknown filter_cfg keys '
                    f'{sorted(unknown)}; expected min_size, min_width, '
                    'min_height')
        self.check_files = check_files
        self.max_bad_ratio = max_bad_ratio
        self.min_bad_to_fail = min_bad_to_fail
        self.backend_args = backend_args
        self._num_tried = 0
        self._num_bad = 0
        self._bad_examples: List[str] = []
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            data_prefix=data_prefix,
            filter_cfg=filter_cfg,
            pipeline=pipeline,
            **kwargs)

    # ------------------------------------------------------------ loading
    def _source_list(self) -> List[dict]:
        """All sources with paths joined to ``data_root``."""
        root = self.data_root or ''
        img_prefix = self.data_prefix.get('img', '') or ''
        sources = []
        if self.ann_file:  # BaseDataset has joined it to data_root
            kind = ('coco_json' if self.ann_file.lower().endswith('.json')
                    else 'list')
            sources.append(
                dict(type=kind, ann_file=self.ann_file,
                     img_prefix=img_prefix))
        for src in self.sources:
            src = dict(src)
            for key in ('ann_file', 'path'):
                if key in src:
                    src[key] = _join(root, src[key])
            prefix = src.get('img_prefix', '')
            src['img_prefix'] = _join(root, prefix) if prefix else root
            sources.append(src)
        if not sources:
            sources.append(dict(type='folder', path=img_prefix or root))
        return sources

    @staticmethod
    def _load_coco_json(src: dict, backend_args) -> List[dict]:
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
            out.append(
                dict(
                    img_path=_join(prefix, name),
                    img_id=img.get('id'),
                    width=img.get('width'),
                    height=img.get('height')))
        return out

    @staticmethod
    def _load_list(src: dict, backend_args) -> List[dict]:
        path = src['ann_file']
        _require_ann_file(path)
        text = fileio.get_text(path, backend_args=backend_args)
        prefix = src.get('img_prefix', '')
        out = []
        for line in text.splitlines():
            line = line.strip()
            if line and not line.startswith('#'):
                out.append(dict(img_path=_join(prefix, line)))
        return out

    @staticmethod
    def _load_folder(src: dict, backend_args) -> List[dict]:
        folder = src['path']
        if '://' not in folder and not osp.isdir(folder):
            raise FileNotFoundError(
                f'CocoUnlabeledDataset: image folder "{folder}" does not '
                'exist (check data_root and the folder path)')
        return [
            dict(img_path=p) for p in list_images(
                folder, src.get('recursive', True), backend_args)
        ]

    def load_data_list(self) -> List[dict]:
        """Read all sources, de-duplicate, keep order.

        Returns:
            list[dict]: ``img_path`` plus, from JSON, ``img_id``, ``width``
            and ``height`` per image.
        """
        loaders = dict(
            coco_json=self._load_coco_json,
            folder=self._load_folder,
            list=self._load_list)
        first: Dict[str, str] = {}  # real path -> first listed path
        real_dirs: Dict[str, str] = {}
        num_duplicates, examples = 0, []  # the count and 3 to show
        data_list = []
        for src in self._source_list():
            for info in loaders[src['type']](src, self.backend_args):
                key = _real_path(info['img_path'], real_dirs)
                if key in first:
                    num_duplicates += 1
                    if len(examples) < 3:
                        examples.append(
                            f'"{info["img_path"]}" is "{first[key]}"')
                    continue
                first[key] = info['img_path']
                info = {k: v for k, v in info.items() if v is not None}
                data_list.append(info)
        if not data_list:
            raise ValueError(
                f'CocoUnlabeledDataset: no images found in '
                f'{self._source_list()} (data_root="{self.data_root}")')
        if num_duplicates:
            print_log(
                f'CocoUnlabeledDataset: dropped {num_duplicates} duplicate '
                f'entries (files listed more than once, compared by real '
                f'path), kept {len(data_list)} images; e.g. '
                f'{"; ".join(examples)}.',
                logger='current',
                level=logging.WARNING)
        return data_list

    def filter_data(self) -> List[dict]:
        """Drop images smaller than ``filter_cfg`` by their JSON size."""
        if self.test_mode or not self.filter_cfg:
            return self.data_list
        min_size = self.filter_cfg.get('min_size', 0) or 0
        min_w = max(min_size, self.filter_cfg.get('min_width', 0) or 0)
        min_h = max(min_size, self.filter_cfg.get('min_height', 0) or 0)
        kept = [
            info for info in self.data_list
            if info.get('width', min_w) >= min_w
            and info.get('height', min_h) >= min_h
        ]
        dropped = len(self.data_list) - len(kept)
        if dropped:
            print_log(
                f'CocoUnlabeledDataset: filter_cfg={self.filter_cfg} dropped '
                f'{dropped} of {len(self.data_list)} images smaller than '
                f'{min_w}x{min_h} pixels by their JSON width/height.',
                logger='current',
                level=logging.INFO)
        return kept

    def full_init(self) -> None:
        """Load, filter, subset and serialise; then check files exist."""
        if self._fully_initialized:
            return
        super().full_init()
        self._check_files_exist()

    def _check_files_exist(self) -> None:
        n = len(self)
        if self.check_files <= 0 or n == 0:
            return
        num = min(self.check_files, n)
        idxs = sorted({int(i * n / num) for i in range(num)})
        missing = []
        for i in idxs:
            path = self.get_data_info(i)['img_path']
            if not fileio.exists(path, backend_args=self.backend_args):
                missing.append(path)
        if len(missing) > self.max_bad_ratio * len(idxs):
            raise FileNotFoundError(
                f'CocoUnlabeledDataset: {len(missing)} of {len(idxs)} '
                f'sampled images do not exist, e.g. {missing[:3]}. Check '
                f'data_root="{self.data_root}", '
                f'data_prefix={self.data_prefix} and the sources '
                f'{self.sources}.')

    # ------------------------------------------------------------ runtime
    def prepare_data(self, idx: int):
        """Run the pipeline; count failures and fail fast if most fail."""
        data = super().prepare_data(idx)
        self._num_tried += 1
        if data is None:
            self._num_bad += 1
            if len(self._bad_examples) < 5:
                self._bad_examples.append(
                    self.get_data_info(idx)['img_path'])
            if (self._num_bad >= self.min_bad_to_fail and self._num_bad >
                    self.max_bad_ratio * self._num_tried):
                raise RuntimeError(
                    f'CocoUnlabeledDataset: {self._num_bad} of '
                    f'{self._num_tried} samples loaded in this process were '
                    'unreadable or too small (more than max_bad_ratio='
                    f'{self.max_bad_ratio}), e.g. {self._bad_examples}. '
                    'Most of the dataset cannot be used: check '
                    f'data_root="{self.data_root}", data_prefix='
                    f'{self.data_prefix} and the files (run '
                    'tools/misc/check_coco_folder.py).')
        return data
