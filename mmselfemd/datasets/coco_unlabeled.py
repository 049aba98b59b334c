# Copyright (c) mmselfemd contributors. All rights reserved.
import logging
from itertools import chain
from typing import Callable, List, Optional, Sequence, Union

import mmengine.fileio as fileio
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from mmselfemd.registry import DATASETS

from .image_sources import (
    SOURCE_TYPES,
    join_path,
    load_source,
    read_coco_images,
    unique_by_real_path,
)

__all__ = ['CocoUnlabeledDataset', 'SOURCE_TYPES', 'read_coco_images']


@DATASETS.register_module()
class CocoUnlabeledDataset(BaseDataset):
    """Images without any labels: COCO JSON files, folders and file lists.

    The single-JSON case takes mmengine's usual arguments::

        dict(type='CocoUnlabeledDataset', data_root='data/coco/',
             ann_file='annotations/image_info_unlabeled2017.json',
             data_prefix=dict(img='unlabeled2017/'), pipeline=...)

    ``ann_file`` (if given) is the first source: a ``.json`` file is read as
    ``coco_json`` (only its ``images`` list), anything else as ``list`` (one
    path per line). More sources are combined with ``sources``: dicts of
    type ``coco_json``, ``folder`` or ``list``
    (:func:`~mmselfemd.datasets.image_sources.load_source`). With neither
    ``ann_file`` nor ``sources`` the folder ``data_prefix['img']`` is
    scanned. An image listed twice (same real path) is kept once, at its
    first place. Nothing is decoded at start-up: ``filter_cfg`` drops
    images by their JSON size only.

    The dataset fails fast when most of it is unreadable: at
    ``full_init`` when more than ``max_bad_ratio`` of ``check_files``
    sampled entries are missing (``FileNotFoundError``), and while loading
    when at least ``min_bad_to_fail`` samples failed in this process and
    they are more than ``max_bad_ratio`` of all attempts
    (``RuntimeError``). See ``docs/en/user_guides/dataset_prepare.md``.

    Args:
        ann_file (str): Optional COCO JSON or list file. Defaults to ''.
        data_root (str): Root of all relative paths. Defaults to ''.
        data_prefix (dict): ``dict(img=...)``, the image prefix of
            ``ann_file`` or the folder to scan. Defaults to ``dict(img='')``.
        sources (list[dict], optional): Further sources: ``type``
            (``'coco_json'``, ``'folder'`` or ``'list'``) and ``ann_file``
            and ``img_prefix``, or ``path`` and ``recursive``; paths are
            relative to ``data_root`` unless absolute.
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
                    src[key] = join_path(root, src[key])
            prefix = src.get('img_prefix', '')
            src['img_prefix'] = join_path(root, prefix) if prefix else root
            sources.append(src)
        if not sources:
            sources.append(dict(type='folder', path=img_prefix or root))
        return sources

    def load_data_list(self) -> List[dict]:
        """Read all sources, de-duplicate, keep order.

        Returns:
            list[dict]: ``img_path`` plus, from JSON, ``img_id``, ``width``
            and ``height`` per image.
        """
        data_list, num_duplicates, examples = unique_by_real_path(
            chain.from_iterable(
                load_source(src, self.backend_args)
                for src in self._source_list()))
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
        """Raise if most of ``check_files`` evenly spaced entries are
        missing."""
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
        """Run the pipeline; count failures and fail fast if most fail.

        Args:
            idx (int): The index of the sample.

        Returns:
            dict | None: The pipeline's output, None for a failed sample.
        """
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
