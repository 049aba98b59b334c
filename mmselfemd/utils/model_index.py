# Copyright (c) mmselfemd contributors. All rights reserved.
"""The model zoo index: zoo names resolved through OpenMMLab metafiles.

The zoo is described in the OpenMMLab model-index format: the root
``model-index.yml`` imports one ``metafile.yml`` per config folder, and
each metafile lists ``Models``::

    # model-index.yml
    Import:
      - configs/selfemd/metafile.yml

    # configs/selfemd/metafile.yml
    Models:
      - Name: selfemd_resnet50_8xb64-coslr-800e_coco
        Config: configs/selfemd/selfemd_resnet50_8xb64-coslr-800e_coco.py
        Weights: https://example.org/selfemd_r50_20250101-1a2b3c4d.pth
        Weights SHA256: 1a2b3c4d...  # full 64 hex digits, optional

``Weights SHA256`` (a sibling of ``Weights``, matched case-insensitively
like every model-index key) is the SHA-256 of the weights file. Without it
the ``-{hash8}`` suffix of the file name is verified instead (see
:mod:`mmselfemd.utils.checkpoint_download`). Models without ``Weights``
are not trained yet and are not part of the downloadable zoo.
"""
import os
import os.path as osp
import re
from dataclasses import dataclass
from typing import Dict, List, Optional

import yaml

#: Environment variable that points to another ``model-index.yml``.
MODEL_INDEX_ENV = 'MMSELFEMD_MODEL_INDEX'
#: Metafile key that holds the SHA-256 of the weights file.
WEIGHTS_SHA256_KEY = 'Weights SHA256'

_SHA256_RE = re.compile(r'^[0-9a-f]{64}$')


@dataclass(frozen=True)
class ZooModel:
    """One downloadable model of the zoo.

    Attributes:
        name (str): The zoo name (``Name`` in the metafile).
        weights (str): URL of the checkpoint (``Weights``).
        sha256 (str, optional): Full SHA-256 of the checkpoint
            (``Weights SHA256``), lowercase hex.
        config (str, optional): The config path (``Config``).
        metafile (str): The metafile the entry was read from.
    """

    name: str
    weights: str
    sha256: Optional[str]
    config: Optional[str]
    metafile: str


class UnknownZooModelError(KeyError):
    """Raised when a zoo name is not in the model index."""

    def __str__(self) -> str:
        # KeyError quotes its message; show it as written.
        return str(self.args[0]) if self.args else ''


def find_model_index() -> Optional[str]:
    """Locate the ``model-index.yml`` to read.

    In order: the file named by ``$MMSELFEMD_MODEL_INDEX``, the copy shipped
    inside the installed package (``mmselfemd/.mim/model-index.yml``), the
    one at the repository root.

    Returns:
        str, optional: Its path, or None when there is none.
    """
    env = os.environ.get(MODEL_INDEX_ENV)
    if env:
        return osp.abspath(osp.expanduser(env))
    package_dir = osp.dirname(osp.dirname(osp.abspath(__file__)))
    for candidate in (osp.join(package_dir, '.mim', 'model-index.yml'),
                      osp.join(osp.dirname(package_dir), 'model-index.yml')):
        if osp.isfile(candidate):
            return candidate
    return None


def _read_yaml(path: str, what: str) -> dict:
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} "{path}" not found.')
    with open(path, encoding='utf-8') as f:
        data = yaml.safe_load(f)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f'{what} "{path}" must be a YAML mapping with '
                         f'"Import" and/or "Models", got a '
                         f'{type(data).__name__}.')
    return data


def _lower_keys(entry: dict) -> Dict[str, object]:
    return {str(k).lower().replace('_', ' '): v for k, v in entry.items()}


def _parse_model(entry: object, metafile: str) -> Optional[ZooModel]:
    if not isinstance(entry, dict):
        raise ValueError(f'Metafile "{metafile}": every entry of "Models" '
                         f'must be a mapping with "Name" and "Weights", got '
                         f'{entry!r}.')
    fields = _lower_keys(entry)
    name = fields.get('name')
    if not isinstance(name, str) or not name:
        raise ValueError(f'Metafile "{metafile}": a model has no "Name" '
                         f'(entry {entry!r}).')
    weights = fields.get('weights')
    if weights is None:
        return None  # not trained yet
    if not isinstance(weights, str) or not weights:
        raise ValueError(f'Metafile "{metafile}", model "{name}": "Weights" '
                         f'must be a URL string, got {weights!r}.')
    sha256 = fields.get(WEIGHTS_SHA256_KEY.lower())
    if sha256 is not None:
        if not isinstance(sha256, str):
            # YAML read it as a number (only digits, or an 'e' exponent).
            raise ValueError(
                f'Metafile "{metafile}", model "{name}": '
                f'"{WEIGHTS_SHA256_KEY}" was read as a {type(sha256).__name__}'
                f' ({sha256!r}), expected 64 hexadecimal digits; quote it.')
        sha256 = sha256.strip().lower()
        if not _SHA256_RE.match(sha256):
            raise ValueError(
                f'Metafile "{metafile}", model "{name}": '
                f'"{WEIGHTS_SHA256_KEY}" must be 64 hexadecimal digits '
                f'(the SHA-256 of the weights file), got {sha256!r}.')
    config = fields.get('config')
    return ZooModel(name=name, weights=weights, sha256=sha256,
                    config=str(config) if config is not None else None,
                    metafile=metafile)


def _models_of(data: dict, path: str) -> List[ZooModel]:
    entries = _lower_keys(data).get('models') or []
    if not isinstance(entries, list):
        raise ValueError(f'"{path}": "Models" must be a list, got '
                         f'{type(entries).__name__}.')
    models = [_parse_model(entry, path) for entry in entries]
    return [m for m in models if m is not None]


def load_model_index(path: Optional[str] = None) -> Dict[str, ZooModel]:
    """Read the downloadable models of the zoo.

    Args:
        path (str, optional): A ``model-index.yml``. Defaults to
            :func:`find_model_index`; when that finds none the zoo is empty.

    Returns:
        dict[str, ZooModel]: The models with ``Weights``, by name, in
        metafile order.

    Raises:
        FileNotFoundError: If ``path`` or an imported metafile is missing.
        ValueError: If an entry is malformed or a name is duplicated.
    """
    if path is None:
        path = find_model_index()
        if path is None:
            return {}
    path = osp.abspath(osp.expanduser(path))
    root = _read_yaml(path, 'Model index')
    models = _models_of(root, path)
    imports = _lower_keys(root).get('import') or []
    if isinstance(imports, str):
        imports = [imports]
    for rel in imports:
        metafile = osp.normpath(osp.join(osp.dirname(path), str(rel)))
        models += _models_of(_read_yaml(metafile, 'Metafile'), metafile)

    zoo: Dict[str, ZooModel] = {}
    for model in models:
        if model.name in zoo:
            raise ValueError(
                f'Zoo name "{model.name}" is defined twice: in '
                f'"{zoo[model.name].metafile}" and "{model.metafile}".')
        zoo[model.name] = model
    return zoo


def get_zoo_model(name: str, path: Optional[str] = None) -> ZooModel:
    """Resolve a zoo name.

    Args:
        name (str): The zoo name, with or without the ``zoo://`` prefix.
        path (str, optional): As in :func:`load_model_index`.

    Returns:
        ZooModel: The entry.

    Raises:
        UnknownZooModelError: If the name is not in the index; the message
            lists the known names, or says that the zoo is empty.
    """
    if name.startswith('zoo://'):
        name = name[len('zoo://'):]
    index_path = path if path is not None else find_model_index()
    zoo = load_model_index(index_path) if index_path else {}
    if name in zoo:
        return zoo[name]
    where = (f'model index "{index_path}"' if index_path else
             'the model index (no model-index.yml found; set '
             f'${MODEL_INDEX_ENV} to point to one)')
    if zoo:
        known = ', '.join(sorted(zoo))
        detail = f'Known names: {known}.'
    elif index_path:
        detail = ('The zoo has no trained checkpoints yet (no model in it '
                  'has "Weights").')
    else:
        detail = 'The zoo has no trained checkpoints yet.'
    raise UnknownZooModelError(
        f'"{name}" is not a model zoo name in {where}. {detail} Pass a '
        'URL or a local path to use a checkpoint from elsewhere.')
