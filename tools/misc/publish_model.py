# Copyright (c) mmselfemd contributors. All rights reserved.
"""Prepare a training checkpoint for release in the model zoo.

Usage::

    python tools/misc/publish_model.py IN_FILE OUT_FILE \
        [--config CONFIG] [--base-url URL] [--date YYYYMMDD]

``IN_FILE`` is a checkpoint written by ``tools/train.py`` (loaded
weights-only). Only ``state_dict`` and ``meta`` are kept (``--keep-keys``);
the optimizer state, the message hub, the parameter schedulers and anything
else a resume needs are dropped. The result is saved as
``{OUT_FILE without .pth}_{YYYYMMDD}-{hash8}.pth``, where ``hash8`` is the
first 8 hex digits of its SHA-256 (the OpenMMLab convention, which
``tools/model_zoo/download.py`` verifies), checked to load with plain
``torch.load(weights_only=True)`` in a fresh Python process, and the entry
for ``configs/selfemd/metafile.yml`` is printed (``Weights`` and the quoted
``Weights SHA256``; see ``docs/en/model_zoo.md``).
"""
import argparse
import os
import os.path as osp
import re
import subprocess
import sys
import time
from typing import List, Optional, Tuple

import torch

from mmselfemd import __version__
from mmselfemd.apis import sha256_file
from mmselfemd.utils.safe_load import (
    load_checkpoint_safe,
)
from mmselfemd.utils.user_errors import (
    add_debug_argument,
    run_cli,
)

DEFAULT_KEEP_KEYS = ('state_dict', 'meta')
BASE_URL_PLACEHOLDER = 'https://BASE_URL'
_GPUS_BATCH_RE = re.compile(r'_(\d+)xb(\d+)')

# A fresh interpreter that loads the file with torch alone, weights-only:
# nothing of mmselfemd is imported or allow-listed there.
_PLAIN_LOAD = ('import sys, torch; '
               "torch.load(sys.argv[1], map_location='cpu', "
               'weights_only=True)')


def strip_checkpoint(ckpt: dict,
                     keep_keys=DEFAULT_KEEP_KEYS,
                     path: str = '<checkpoint>') -> Tuple[dict, List[str]]:
    """Keep only the entries a user of the weights needs.

    Args:
        ckpt (dict): A loaded checkpoint. A bare state dict (tensors at the
            top level) is wrapped as ``{'state_dict': ckpt}``.
        keep_keys (Sequence[str]): Top-level entries to keep.
            Defaults to ``('state_dict', 'meta')``.
        path (str): The file name, for error messages.

    Returns:
        tuple[dict, list[str]]: The stripped checkpoint and the names of
        the removed entries.

    Raises:
        ValueError: If the checkpoint has no tensor under ``state_dict``.
    """
    if not isinstance(ckpt, dict):
        raise ValueError(f'checkpoint "{path}" holds a {type(ckpt).__name__}'
                         ', expected a dict with a "state_dict" entry')
    if 'state_dict' not in ckpt and ckpt and all(
            isinstance(v, torch.Tensor) for v in ckpt.values()):
        ckpt = {'state_dict': ckpt}
    state_dict = ckpt.get('state_dict')
    if not isinstance(state_dict, dict) or not any(
            isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise ValueError(
            f'checkpoint "{path}" has no tensors under "state_dict" (its '
            f'top-level entries are {sorted(map(str, ckpt))}); expected a '
            'checkpoint written by tools/train.py')
    kept = {k: v for k, v in ckpt.items() if k in keep_keys}
    removed = sorted(str(k) for k in ckpt if k not in keep_keys)
    return kept, removed


def published_name(out_file: str, sha256: str, date: str) -> str:
    """``{out_file without .pth}_{date}-{sha256[:8]}.pth``."""
    stem = out_file[:-4] if out_file.endswith('.pth') else out_file
    return f'{stem}_{date}-{sha256[:8]}.pth'


def metafile_entry(name: str,
                   weights_url: str,
                   sha256: str,
                   config: Optional[str],
                   meta: dict,
                   collection: str = 'SelfEMD') -> str:
    """The YAML of one ``Models`` entry of ``configs/selfemd/metafile.yml``.

    Args:
        name (str): The model name (the config name by convention).
        weights_url (str): Where the file will be downloaded from.
        sha256 (str): The file's SHA-256.
        config (str, optional): The config path, relative to the repo.
        meta (dict): The checkpoint's meta (epoch, iter).
        collection (str): The metafile collection, i.e. the algorithm
            (``model.type`` of the config: ``SelfEMD`` or ``BYOL``).
            Defaults to ``'SelfEMD'``.

    Returns:
        str: The entry, indented for the ``Models:`` list.
    """
    lines = [f'  - Name: {name}', f'    In Collection: {collection}']
    metadata = []
    if isinstance(meta.get('epoch'), int) and meta['epoch'] > 0:
        metadata.append(f'      Epochs: {meta["epoch"]}')
    elif isinstance(meta.get('iter'), int) and meta['iter'] > 0:
        metadata.append(f'      Iterations: {meta["iter"]}')
    match = _GPUS_BATCH_RE.search(name)
    if match:
        gpus, batch = map(int, match.groups())
        metadata.append(f'      Batch Size: {gpus * batch}')
    if metadata:
        lines += ['    Metadata:'] + metadata
    if config:
        lines.append(f'    Config: {config}')
    lines += [f'    Weights: {weights_url}', f"    Weights SHA256: '{sha256}'"]
    return '\n'.join(lines)


def check_plain_load(path: str) -> None:
    """Load ``path`` with plain torch, weights-only, in a fresh process.

    Raises:
        ValueError: If that load fails (the message is torch's reason).
    """
    proc = subprocess.run([sys.executable, '-c', _PLAIN_LOAD, path],
                          capture_output=True,
                          text=True,
                          env=dict(os.environ, PYTHONPATH=''))
    if proc.returncode != 0:
        reason = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        raise ValueError(
            f'the published file "{path}" does not load with plain '
            'torch.load(weights_only=True) outside mmselfemd: '
            f'{reason[-1] if reason else "exit " + str(proc.returncode)}; '
            'use --keep-keys to drop the entry that needs it')


def parse_args(argv: Optional[list] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description='Strip a training checkpoint for release, add the '
        'OpenMMLab -hash8 suffix and print its metafile entry.')
    parser.add_argument('in_file', help='checkpoint from tools/train.py')
    parser.add_argument(
        'out_file',
        help='output name, e.g. work_dirs/publish/CONFIG_NAME.pth; the '
        'file is written as CONFIG_NAME_YYYYMMDD-HASH8.pth')
    parser.add_argument(
        '--config', help='config path for the metafile entry (default: '
        'configs/selfemd/NAME.py when it exists)')
    parser.add_argument(
        '--base-url', default=BASE_URL_PLACEHOLDER,
        help='download URL prefix for the metafile entry')
    parser.add_argument(
        '--date', default=time.strftime('%Y%m%d'),
        help='date in the file name (default: today)')
    parser.add_argument(
        '--keep-keys', nargs='+', default=list(DEFAULT_KEEP_KEYS),
        help='top-level checkpoint entries to keep (default: state_dict '
        'meta)')
    add_debug_argument(parser)
    return parser.parse_args(argv)


def publish(args: argparse.Namespace) -> str:
    """Strip, save, hash, rename, verify; print the metafile entry."""
    if not re.fullmatch(r'\d{8}', args.date):
        raise ValueError(f'--date must be YYYYMMDD, got {args.date!r}')
    if 'state_dict' not in args.keep_keys:
        raise ValueError('--keep-keys must include state_dict')
    if not osp.isfile(args.in_file):
        raise FileNotFoundError(f'checkpoint "{args.in_file}" not found')
    ckpt = load_checkpoint_safe(args.in_file, map_location='cpu')
    stripped, removed = strip_checkpoint(ckpt, args.keep_keys, args.in_file)
    if isinstance(stripped.get('meta'), dict):
        stripped['meta'].setdefault('mmselfemd_version', __version__)
    out_dir = osp.dirname(osp.abspath(args.out_file))
    os.makedirs(out_dir, exist_ok=True)
    tmp = args.out_file if args.out_file.endswith('.pth') else \
        args.out_file + '.pth'
    torch.save(stripped, tmp)
    sha256 = sha256_file(tmp)
    final = published_name(args.out_file, sha256, args.date)
    os.replace(tmp, final)
    check_plain_load(final)

    name = osp.basename(final)[:-len(f'_{args.date}-{sha256[:8]}.pth')]
    config = args.config
    repo = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    if config is None and osp.isfile(
            osp.join(repo, 'configs', 'selfemd', f'{name}.py')):
        config = f'configs/selfemd/{name}.py'
    meta = stripped.get('meta') if isinstance(stripped.get('meta'),
                                              dict) else {}
    url = f'{args.base_url.rstrip("/")}/{osp.basename(final)}'
    size_in = osp.getsize(args.in_file) / 2**20
    size_out = osp.getsize(final) / 2**20
    print(f'removed: {", ".join(removed) or "nothing"}; '
          f'{size_in:.1f} MiB -> {size_out:.1f} MiB')
    print(f'published: {final}')
    print(f'sha256: {sha256}')
    print('metafile entry (configs/selfemd/metafile.yml, under Models:):')
    collection = 'SelfEMD'
    if config is not None:
        from mmengine.config import Config
        path = config if osp.isfile(config) else osp.join(repo, config)
        collection = Config.fromfile(path).model.type
    print(metafile_entry(name, url, sha256, config, meta, collection))
    if args.base_url == BASE_URL_PLACEHOLDER:
        print('(replace https://BASE_URL with the upload location, or pass '
              '--base-url)')
    return final


def main(argv: Optional[list] = None) -> None:
    """Entry point; input errors end with one paragraph and exit 1."""
    args = parse_args(argv)
    run_cli(lambda: publish(args), 'tools/misc/publish_model.py',
            args.debug)


if __name__ == '__main__':
    main()
