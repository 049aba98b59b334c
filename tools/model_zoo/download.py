# Copyright (c) mmselfemd contributors. All rights reserved.
"""Download a model zoo checkpoint, verify its SHA-256, load it weights-only.

Examples::

    python tools/model_zoo/download.py --list
    python tools/model_zoo/download.py NAME
    python tools/model_zoo/download.py https://host/x_20250101-1a2b3c4d.pth \
        --out checkpoints/
    python tools/model_zoo/download.py URL --sha256 <64 hex digits>

Prints the path and the SHA-256 of the file. Exit status 1 with a one-line
reason when the download, the verification or the weights-only load fails.
A downloaded file that fails the SHA-256 check or does not load weights-only
(its pickle would run code, or it is no checkpoint) is deleted, and the
message says so: no later load, by mmengine, ``torch.load`` or a cache hit,
can run it. A local file given as NAME is never deleted. No ``.lock`` file
is left behind.
"""
import argparse
import sys
from typing import List, Optional

from mmselfemd.apis import (
    CheckpointDownloadError,
    ChecksumMismatchError,
    UnknownZooModelError,
    download_checkpoint,
    find_model_index,
    load_model_index,
    load_zoo_checkpoint,
    sha256_file,
)
from mmselfemd.utils.safe_load import UnsafeCheckpointError


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description='Download an mmselfemd checkpoint by zoo name or URL, '
        'verify its SHA-256 and check that it loads weights-only.')
    parser.add_argument(
        'name', nargs='?', metavar='NAME|URL',
        help='zoo name (see --list), zoo://NAME, or an http(s):// or '
        'file:// URL')
    parser.add_argument(
        '--out', metavar='DIR',
        help='directory to store the file (default: the cache, '
        '$MMSELFEMD_HOME/checkpoints or ~/.cache/mmselfemd/checkpoints)')
    parser.add_argument(
        '--sha256', metavar='HEX',
        help='expected SHA-256 (64 hex digits or a prefix of at least 8); '
        'default: the metafile\'s "Weights SHA256", else the -hash8 suffix '
        'of the file name')
    parser.add_argument(
        '--list', action='store_true', help='list the zoo names and exit')
    parser.add_argument(
        '--model-index', metavar='FILE',
        help='model-index.yml to resolve zoo names (default: '
        '$MMSELFEMD_MODEL_INDEX, else the one shipped with mmselfemd)')
    parser.add_argument(
        '--no-load', action='store_true',
        help='skip the final load that counts the state dict entries (a '
        'download is always checked to load weights-only before it is '
        'kept)')
    parser.add_argument(
        '--quiet', action='store_true', help='no progress bar')
    args = parser.parse_args(argv)
    if not args.list and not args.name:
        parser.error('give a zoo NAME or a URL, or --list')
    return args


def list_zoo(model_index: Optional[str]) -> int:
    """Print the downloadable zoo names; return the exit status."""
    path = model_index or find_model_index()
    if path is None:
        print('The mmselfemd model zoo is empty: no model-index.yml was '
              'found (set $MMSELFEMD_MODEL_INDEX or pass --model-index). '
              'No trained checkpoints are published yet.')
        return 0
    zoo = load_model_index(path)
    if not zoo:
        print(f'The mmselfemd model zoo is empty: no model in "{path}" has '
              'Weights. No trained checkpoints are published yet.')
        return 0
    print(f'{len(zoo)} model(s) in "{path}":')
    for model in zoo.values():
        pinned = 'sha256 pinned' if model.sha256 else 'hash from file name'
        print(f'{model.name}\n    weights: {model.weights} ({pinned})'
              + (f'\n    config:  {model.config}' if model.config else ''))
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """Run the tool; return the exit status."""
    args = parse_args(argv)
    try:
        if args.list:
            return list_zoo(args.model_index)
        path = download_checkpoint(
            args.name, cache_dir=args.out, sha256=args.sha256,
            progress=not args.quiet, model_index=args.model_index)
        print(f'path:   {path}')
        print(f'sha256: {sha256_file(path)}')
        if not args.no_load:
            checkpoint = load_zoo_checkpoint(path, map_location='cpu')
            state = checkpoint.get('state_dict', checkpoint) if isinstance(
                checkpoint, dict) else checkpoint
            n = len(state) if isinstance(state, dict) else 'unknown'
            print(f'weights-only load: OK ({n} entries in the state dict)')
    except (CheckpointDownloadError, ChecksumMismatchError,
            UnknownZooModelError, UnsafeCheckpointError, FileNotFoundError,
            ValueError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
