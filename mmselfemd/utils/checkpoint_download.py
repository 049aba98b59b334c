# Copyright (c) mmselfemd contributors. All rights reserved.
"""Verified, weights-only checkpoint downloads into the mmselfemd cache.

:func:`download_checkpoint` fetches a checkpoint given by zoo name (see
:mod:`mmselfemd.utils.model_index`), by URL (``http://``, ``https://``,
``file://``) or by local path, and verifies its SHA-256 against, in order:
the ``sha256`` argument, the metafile's ``Weights SHA256``, the ``-hash8``
suffix of the file name. A file that does not match, or does not load
weights-only, is deleted, and the error names the URL and both digests.
The cache is ``$MMSELFEMD_HOME/checkpoints``, by default
``${XDG_CACHE_HOME:-~/.cache}/mmselfemd/checkpoints``. See
``docs/en/model_zoo.md``.

mmengine's ``load_from_http`` (torch.hub's ``load_url``) falls short here:
its ``check_hash`` reads the hash from the file name only (not the
metafile's full digest), it never re-checks a cached file, and it unpickles
with ``weights_only=False``.
"""
import hashlib
import os
import os.path as osp
import re
import urllib.parse
import warnings
from typing import Optional, Tuple

from .model_index import (
    WEIGHTS_SHA256_KEY,
    UnknownZooModelError,
    get_zoo_model,
)
from .resumable_download import (
    CheckpointDownloadError,
    fetch_resumable,
    file_lock,
)
from .safe_load import UnsafeCheckpointError, load_checkpoint_safe

#: Environment variable for the mmselfemd home (cache in ``checkpoints/``).
HOME_ENV = 'MMSELFEMD_HOME'
ZOO_PREFIX = 'zoo://'
URL_SCHEMES = ('http', 'https', 'file')

# torch.hub's HASH_REGEX takes any '-<hex>.' run of a name (e.g. '-800e.');
# ours reads 8 to 64 hex digits right before the extension only.
_HASH_SUFFIX_RE = re.compile(r'-([0-9a-f]{8,64})(?:\.[A-Za-z0-9]+)+$')
_HEX_RE = re.compile(r'^[0-9a-f]{8,64}$')
_SCHEME_RE = re.compile(r'^([A-Za-z][A-Za-z0-9+.-]*)://')
_CHUNK = 1 << 20

#: Expected (digest or prefix, where it comes from).
Expected = Optional[Tuple[str, str]]


class ChecksumMismatchError(RuntimeError):
    """Raised when a checkpoint's SHA-256 differs from the expected one."""


#: What :func:`download_checkpoint` raises for a bad address or file.
DOWNLOAD_ERRORS = (CheckpointDownloadError, ChecksumMismatchError,
                   UnknownZooModelError, UnsafeCheckpointError, ValueError,
                   FileNotFoundError)


def get_cache_dir(cache_dir: Optional[str] = None) -> str:
    """Return the checkpoint cache directory (not created).

    Args:
        cache_dir (str, optional): Explicit directory; wins over the
            environment.

    Returns:
        str: ``cache_dir``, else ``$MMSELFEMD_HOME/checkpoints``, else
        ``${XDG_CACHE_HOME:-~/.cache}/mmselfemd/checkpoints``.
    """
    if cache_dir:
        return osp.abspath(osp.expanduser(cache_dir))
    home = os.environ.get(HOME_ENV)
    if not home:
        xdg = os.environ.get('XDG_CACHE_HOME') or osp.join('~', '.cache')
        home = osp.join(xdg, 'mmselfemd')
    return osp.abspath(osp.join(osp.expanduser(home), 'checkpoints'))


def sha256_file(path: str) -> str:
    """Return the SHA-256 of a file as 64 lowercase hex digits."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(_CHUNK), b''):
            digest.update(chunk)
    return digest.hexdigest()


def hash_prefix_from_filename(filename: str) -> Optional[str]:
    """Read the OpenMMLab ``-{hash}`` suffix of a checkpoint file name.

    Args:
        filename (str): A file name or URL, e.g.
            ``selfemd_r50_20250101-1a2b3c4d.pth``.

    Returns:
        str, optional: The 8 to 64 lowercase hex digits after the last
        ``-`` and before the extension (a prefix of the file's SHA-256), or
        None when the name has no such suffix.
    """
    match = _HASH_SUFFIX_RE.search(osp.basename(filename))
    return match.group(1) if match else None


def _expected_text(expected: str) -> str:
    if len(expected) == 64:
        return expected
    return f'a digest starting with {expected}'


def _mismatch(source: str, expected: Tuple[str, str], got: str,
              what: str) -> ChecksumMismatchError:
    value, origin = expected
    return ChecksumMismatchError(
        f'SHA-256 mismatch for the checkpoint from "{source}": expected '
        f'{_expected_text(value)} ({origin}), got {got}. {what}')


def _check_loadable(path: str, source: str, shown: str) -> None:
    """Delete ``path`` unless it loads weights-only; raise if deleted."""
    try:
        load_checkpoint_safe(path, map_location='cpu', mmap=True)
    except UnsafeCheckpointError as e:
        os.remove(path)
        raise UnsafeCheckpointError(
            f'{e} The {shown} from "{source}" was deleted, so that no later '
            'load can run it.') from e
    except Exception as e:  # a truncated zip, a directory entry...
        os.remove(path)
        raise CheckpointDownloadError(
            f'The checkpoint from "{source}" cannot be loaded weights-only '
            f'({type(e).__name__}: {e}); the {shown} was deleted.') from e


def _resolve(name_or_url: str, sha256: Optional[str],
             model_index: Optional[str]) -> Tuple[str, bool, Expected]:
    """Return (url or path, is_local, (expected hash, its origin))."""
    expected = None
    if sha256 is not None:
        value = sha256.strip().lower()
        if not _HEX_RE.match(value):
            raise ValueError(
                f'sha256 must be the SHA-256 of the checkpoint as hex digits '
                f'(all 64, or a prefix of at least 8), got {sha256!r}.')
        expected = (value, 'given as sha256')
    match = _SCHEME_RE.match(name_or_url)
    if match and not name_or_url.startswith(ZOO_PREFIX):
        if match.group(1).lower() not in URL_SCHEMES:
            raise ValueError(
                f'Unsupported URL scheme in "{name_or_url}": expected a zoo '
                f'name, {ZOO_PREFIX}NAME, a local path or a URL starting '
                f'with one of {", ".join(s + "://" for s in URL_SCHEMES)}.')
        return name_or_url, False, expected
    looks_like_path = (osp.sep in name_or_url or '/' in name_or_url
                       or osp.splitext(name_or_url)[1] in ('.pth', '.pt',
                                                           '.ckpt'))
    if not name_or_url.startswith(ZOO_PREFIX) and (
            osp.exists(osp.expanduser(name_or_url)) or looks_like_path):
        path = osp.abspath(osp.expanduser(name_or_url))
        if not osp.isfile(path):
            raise FileNotFoundError(f'Checkpoint file "{path}" not found.')
        return path, True, expected
    model = get_zoo_model(name_or_url, model_index)
    if expected is None and model.sha256:
        expected = (model.sha256, f'"{WEIGHTS_SHA256_KEY}" of zoo model '
                    f'"{model.name}" in "{model.metafile}"')
    return model.weights, False, expected


def _unknown_hash(source: str) -> str:
    return (f'The SHA-256 of the checkpoint "{source}" is not known (no '
            f'sha256 argument, no "{WEIGHTS_SHA256_KEY}" in a metafile, no '
            '"-hash8" suffix in the file name)')


def download_checkpoint(name_or_url: str,
                        cache_dir: Optional[str] = None,
                        sha256: Optional[str] = None,
                        progress: bool = True,
                        model_index: Optional[str] = None,
                        timeout: float = 60.0,
                        require_sha256: bool = False) -> str:
    """Fetch a checkpoint into the cache, verify its SHA-256 and its pickle.

    Downloads go to ``<file>.partial`` and are renamed into place once
    verified; an interrupted one is resumed by the next call; a per-file
    lock serialises the processes that fetch the same file. A cached file
    is verified the same way before it is returned.

    Args:
        name_or_url (str): A zoo name (optionally ``zoo://NAME``), a URL
            (``http://``, ``https://``, ``file://``) or a local path. Local
            paths are returned as they are, checked only against
            ``sha256`` and never deleted.
        cache_dir (str, optional): Where to store downloads. Defaults to
            :func:`get_cache_dir`.
        sha256 (str, optional): Expected SHA-256 (64 hex digits, or a
            prefix of at least 8). Defaults to the metafile's
            ``Weights SHA256``, else the ``-{hash8}`` file name suffix.
        progress (bool): Show download progress on stderr.
        model_index (str, optional): ``model-index.yml`` that resolves zoo
            names. Defaults to
            :func:`~mmselfemd.utils.model_index.find_model_index`.
        timeout (float): Socket timeout in seconds.
        require_sha256 (bool): Refuse (before downloading) a URL or zoo
            model whose SHA-256 is known nowhere, instead of keeping it
            with a warning that prints its digest. Defaults to False.

    Returns:
        str: Path of the verified file.

    Raises:
        ChecksumMismatchError: If the digest differs; a download is
            deleted first.
        UnsafeCheckpointError: If a download or cached file needs a global
            outside the weights-only allow-list; it is deleted first.
        CheckpointDownloadError: If the transfer fails, or the file is no
            checkpoint (deleted first).
        UnknownZooModelError: If a name is neither a path nor in the zoo.
        FileNotFoundError: If a local path does not exist.
        ValueError: If the URL scheme or ``sha256`` is malformed.
    """
    source, is_local, expected = _resolve(name_or_url, sha256, model_index)
    if is_local:
        if expected is not None:
            got = sha256_file(source)
            if not got.startswith(expected[0]):
                raise _mismatch(source, expected, got,
                                'The local file was left in place.')
        return source

    filename = osp.basename(
        urllib.parse.unquote(urllib.parse.urlsplit(source).path))
    if not filename:
        raise ValueError(f'Cannot name the checkpoint of "{source}": the '
                         'URL path must end with a file name.')
    suffix = hash_prefix_from_filename(filename)
    if expected is None and suffix:
        expected = (suffix, f'the "-{suffix}" suffix of the file name')
    if expected is None and require_sha256:
        raise ValueError(
            f'{_unknown_hash(source)}, so it cannot be verified and was not '
            'downloaded. Publish it under a name ending in "-<first 8 hex '
            'digits of its SHA-256>.pth", pin it in the metafile, or '
            'download it with tools/model_zoo/download.py --sha256 HEX and '
            'give the local path.')

    directory = get_cache_dir(cache_dir)
    os.makedirs(directory, exist_ok=True)
    dst = osp.join(directory, filename)
    with file_lock(dst + '.lock'):
        return _download_locked(source, dst, expected, progress, timeout)


def _download_locked(source: str, dst: str, expected: Expected,
                     progress: bool, timeout: float) -> str:
    """The cache hit or the download of :func:`download_checkpoint`."""
    if osp.isfile(dst):
        got = sha256_file(dst)
        if expected is None or got.startswith(expected[0]):
            if expected is None:
                _warn_unverified(source, dst, got)
            _check_loadable(dst, source, f'cached file "{dst}"')
            return dst
        warnings.warn(
            f'Cached checkpoint "{dst}" does not match the SHA-256 '
            f'expected for "{source}" ({_expected_text(expected[0])}, '
            f'got {got}); downloading it again.')
        os.remove(dst)
    partial = dst + '.partial'
    fetch_resumable(source, partial, progress, timeout)
    got = sha256_file(partial)
    if expected is not None and not got.startswith(expected[0]):
        os.remove(partial)
        raise _mismatch(
            source, expected, got,
            'The downloaded file was deleted. Check the URL and the hash; a '
            'mirror or proxy may have served a different or truncated file.')
    _check_loadable(partial, source, f'downloaded file "{dst}"')
    if expected is None:
        _warn_unverified(source, dst, got)
    os.replace(partial, dst)
    return dst


def _warn_unverified(source: str, dst: str, got: str) -> None:
    warnings.warn(
        f'{_unknown_hash(source)}, so "{dst}" is not verified. Its SHA-256 '
        f'is {got}; pass it as sha256 to pin it. It is still loaded '
        'weights-only.')
