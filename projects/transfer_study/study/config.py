# Copyright (c) mmselfemd contributors. All rights reserved.
"""A transfer-study config: variants, seeds, splits, selection, checked."""
import os.path as osp
from typing import Dict, List, Optional, Tuple

# cfg-options a variant may not set: they would break equal compute
RESERVED = ('train_cfg', 'train_dataloader.batch_size', 'randomness')
# the held-out split of a study config without ``splits`` (the first study)
DEFAULT_SPLITS = dict(
    val=dict(ann_file='annotations/instances_val.json', img_prefix='val/'))


class StudyConfig:
    """A study config file, checked, with ``--quick`` settings applied.

    Keys (see ``projects/transfer_study/README.md``): ``data``,
    ``backbone``, ``pretrain``, ``finetune``, ``probe`` (None: no probe),
    ``variants``, ``seeds``; optional ``splits`` (held-out labelled splits
    by name), ``selection`` (groups of variants from which a ``select``
    variant takes its settings), ``compare`` and ``quick``.

    A variant is ``dict(name, pretrain, cfg_options, description, split,
    select)``: ``pretrain`` is a pretraining config (None: random init),
    ``split`` the held-out split its detectors are scored on (default: the
    first of ``splits``), ``select`` the name of a selection group whose
    best member's ``pretrain`` and ``cfg_options`` it takes once every
    member is finished (its own ``cfg_options`` are applied on top).

    Args:
        path (str): The study config file.
        quick (bool): Merge the config's ``quick`` settings (tiny data, a
            few iterations). Defaults to False.
        only (list[str], optional): Keep only these variants (and the
            members of the selection groups they select from).
            Defaults to None (all).
        decided (list[str], optional): Selection groups already decided
            (recorded in the work dir's ``selection.json``): ``only`` does
            not add their members, whose runs are not needed any more.
            Defaults to None.
    """

    def __init__(self, path: str, quick: bool = False,
                 only: Optional[List[str]] = None,
                 decided: Optional[List[str]] = None) -> None:
        from mmengine.config import Config
        if not osp.isfile(path):
            raise FileNotFoundError(f'study config "{path}" not found')
        cfg = Config.fromfile(path)
        for key in ('data', 'backbone', 'pretrain', 'finetune', 'probe',
                    'variants', 'seeds'):
            if key not in cfg:
                raise KeyError(f'study config "{path}" has no "{key}"')
        if quick:
            if 'quick' not in cfg:
                raise KeyError(f'study config "{path}" has no "quick" '
                               'settings for --quick')
            cfg.merge_from_dict(cfg.quick.to_dict())
        self.path = path
        self.cfg = cfg
        self.splits = {
            k: dict(v)
            for k, v in (cfg.get('splits') or DEFAULT_SPLITS).items()
        }
        self.default_split = next(iter(self.splits))
        variants = [dict(v) for v in cfg.variants]
        names = [v['name'] for v in variants]
        if len(set(names)) != len(names):
            raise ValueError(f'study config "{path}": duplicate variant '
                             f'names in {names}')
        self.groups: Dict[str, List[str]] = {
            k: list(v)
            for k, v in (cfg.get('selection') or {}).get('groups',
                                                        {}).items()
        }
        for group, members in self.groups.items():
            unknown = sorted(set(members) - set(names))
            if unknown:
                raise KeyError(f'selection group "{group}" names unknown '
                               f'variants {unknown}; the study has {names}')
        self.definitions = {v['name']: v for v in variants}
        if quick and cfg.get('quick_variants'):
            only = list(cfg.quick_variants) if only is None else only
        if only:
            unknown = sorted(set(only) - set(names))
            if unknown:
                raise KeyError(f'unknown variants {unknown}; the study '
                               f'"{path}" has {names}')
            keep = set(only)
            for v in variants:  # a select variant needs its group
                if v['name'] in keep and v.get('select') and \
                        v['select'] not in (decided or ()):
                    keep |= set(self.groups.get(v['select'], []))
            variants = [v for v in variants if v['name'] in keep]
        for v in variants:
            self._check_variant(v)
        self.variants = variants
        seeds = cfg.seeds
        self.finetune_seeds = list(seeds.finetune)
        self.pretrain_seeds = {
            v['name']: list(
                seeds.get('pretrain_extra', {}).get(v['name'], [])) or
            list(seeds.pretrain)
            for v in variants
        }
        self.finetune_seeds_of = {
            v['name']: list(
                seeds.get('finetune_extra', {}).get(v['name'], [])) or
            list(seeds.finetune)
            for v in variants
        }

    def _check_variant(self, v: dict) -> None:
        for key in v.get('cfg_options', {}):
            if any(key == r or key.startswith(r + '.') for r in RESERVED):
                raise ValueError(
                    f'variant "{v["name"]}" sets "{key}", which every '
                    'variant must share (equal compute); set it in the '
                    'study\'s "pretrain" section instead')
        split = v.setdefault('split', self.default_split)
        if split not in self.splits:
            raise KeyError(f'variant "{v["name"]}" is scored on split '
                           f'"{split}", which the study\'s "splits" '
                           f'({sorted(self.splits)}) do not define')
        group = v.get('select')
        if group is not None and group not in self.groups:
            raise KeyError(f'variant "{v["name"]}" selects from group '
                           f'"{group}", which "selection.groups" '
                           f'({sorted(self.groups)}) does not define')

    def variant(self, name: str) -> dict:
        """The variant called ``name``."""
        for v in self.variants:
            if v['name'] == name:
                return v
        raise KeyError(f'no variant "{name}" in {self.path}')

    def definition(self, name: str) -> dict:
        """The variant called ``name`` as the config defines it, also when
        ``only`` left it out (a recorded selection's winner)."""
        if name not in self.definitions:
            raise KeyError(f'no variant "{name}" in {self.path}')
        return self.definitions[name]

    def pretrain_seeds_for(self, name: str) -> List[int]:
        """Pretraining seeds of a variant (for random init: one detector
        initialisation per seed, see :meth:`finetune_random_seed`)."""
        v = self.variant(name)
        if v.get('pretrain') is None and not v.get('select') and \
                name not in self.cfg.seeds.get('pretrain_extra', {}):
            return [0]
        return self.pretrain_seeds[name]

    @staticmethod
    def finetune_random_seed(variant: dict, pseed: int, fseed: int) -> int:
        """``randomness.seed`` of a fine-tuning run.

        The fine-tuning seed itself for a pretrained variant (fine-tuning
        seed f is the same detector initialisation and data order for every
        pretraining); for random init, which has no pretraining, each
        "pretraining seed" must be another initialisation:
        ``1000 * pseed + fseed``.
        """
        if variant.get('pretrain') is None and not variant.get('select'):
            return 1000 * pseed + fseed
        return fseed

    def runs(self) -> List[Tuple[str, int, int]]:
        """(variant, pretraining seed, fine-tuning seed) of every detection
        run, in the order they are scheduled: every variant's first
        pretraining seed before any variant's second, so that a partial
        study covers all variants."""
        seeds = {v['name']: self.pretrain_seeds_for(v['name'])
                 for v in self.variants}
        out = []
        for rank in range(max(len(s) for s in seeds.values())):
            for v in self.variants:
                if rank < len(seeds[v['name']]):
                    ps = seeds[v['name']][rank]
                    out += [(v['name'], ps, fs)
                            for fs in self.finetune_seeds_of[v['name']]]
        return out

    def comparisons(self) -> List[dict]:
        """The ``compare`` entries as dicts ``a``, ``b``, ``margin``
        (``(a, b)`` pairs of the first study have no margin)."""
        out = []
        for c in self.cfg.get('compare', []):
            if isinstance(c, (list, tuple)):
                out.append(dict(a=c[0], b=c[1], margin=None))
            else:
                out.append(dict(a=c['a'], b=c['b'],
                                margin=c.get('margin')))
        return out
