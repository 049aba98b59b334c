# Copyright (c) mmselfemd contributors. All rights reserved.
"""Verified, weights-only checkpoint downloads for the model zoo.

:func:`download_checkpoint` fetches a checkpoint given by zoo name (see
:mod:`mmselfemd.apis.model_index`), by URL (``http://``, ``https://``,
``file://``) or by local path, and verifies its SHA-256 against, in order
of precedence:

1. the ``sha256`` argument (full digest or a prefix of at least 8 hex
   digits);
2. the metafile's ``Weights SHA256`` for a zoo name;
3. the OpenMMLab / torch.hub suffix of the file name:
   ``name_20201126-1a2b3c4d.pth`` carries the first 8 hex digits of the
   file's SHA-256.

A download that does not match is deleted and :class:`ChecksumMismatchError`
names the URL, the expected and the actual digest. A download whose hash is
known nowhere is kept with a warning that prints its digest, so that it can
be pinned (or refused, with ``require_sha256=True``). A download must also
load weights-only (``load_checkpoint_safe``; nothing in it is executed):
one that needs a global outside the allow-list
(e.g. ``os.system``) or is no checkpoint at all is deleted too, and the
error says so, so that no later permissive load (mmengine's http loader, a
user's ``torch.load(weights_only=False)``, a cache hit) can run it. A
cached file is checked the same way before it is returned. Downloads are
written to ``<file>.partial`` and renamed into place only once verified
(atomic); an interrupted download is resumed with an HTTP ``Range`` request
on the next call; a per-file lock (``<file>.lock``, removed when released)
serialises processes that fetch the same file. :func:`load_zoo_checkpoint`
then loads the file weights-only.

The cache is ``$MMSELFEMD_HOME/checkpoints``, by default
``${XDG_CACHE_HOME:-~/.cache}/mmselfemd/checkpoints``.
"""
import contextlib
import hashlib
import os
import os.path as osp
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from http.client import HTTPException
from typing import Any, Iterator, Optional, Tuple, Union

import torch

from mmselfemd.utils.checkpoint_compat import (
    UnsafeCheckpointError,
    load_checkpoint_safe,
)
from mmselfemd.version import __version__

from .model_index import WEIGHTS_SHA256_KEY, get_zoo_model

#: Environment variable for the mmselfemd home (cache in ``checkpoints/``).
HOME_ENV = 'MMSELFEMD_HOME'
ZOO_PREFIX = 'zoo://'
URL_SCHEMES = ('http', 'https', 'file')

_HASH_SUFFIX_RE = re.compile(r'-([0-9a-f]{8,64})(?:\.[A-Za-z0-9]+)+$')
_HEX_RE = re.compile(r'^[0-9a-f]{8,64}$')
_SCHEME_RE = re.compile(r'^([A-Za-z][A-Za-z0-9+.-]*)://')
_CHUNK = 1 << 20


class ChecksumMismatchError(RuntimeError):
    """Raised when a checkpoint's SHA-256 differs from the expected one."""


class CheckpointDownloadError(RuntimeError):
    """Raised when a checkpoint cannot be fetched (HTTP or I/O error)."""


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
        str, optional: The hex digits after the last ``-`` and before the
        extension (8 to 64 lowercase hex digits: a prefix of the file's
        SHA-256), or None when the name has no such suffix.
    """
    match = _HASH_SUFFIX_RE.search(osp.basename(filename))
    return match.group(1) if match else None


def _check_sha256_arg(sha256: str) -> str:
    value = sha256.strip().lower()
    if not _HEX_RE.match(value):
        raise ValueError(
            f'sha256 must be the SHA-256 of the checkpoint as hex digits '
            f'(all 64, or a prefix of at least 8), got {sha256!r}.')
    return value


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


class _Progress:
    """Download progress on stderr, redrawn at most every 0.2 s."""

    def __init__(self, name: str, total: Optional[int], start: int,
                 enabled: bool) -> None:
        self.name = name
        self.total = total
        self.done = start
        self.enabled = enabled
        self._last = 0.0

    def update(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        # Redraw in place on a terminal; in a log file only the last line.
        if (self.enabled and now - self._last >= 0.2
                and sys.stderr.isatty()):
            self._last = now
            self._write()

    def _write(self, end: str = '') -> None:
        mib = self.done / 2**20
        if self.total:
            text = (f'{mib:.1f}/{self.total / 2**20:.1f} MiB '
                    f'({100 * self.done / self.total:.0f}%)')
        else:
            text = f'{mib:.1f} MiB'
        sys.stderr.write(f'\rDownloading {self.name}: {text}{end}')
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            self._write(end='\n')


@contextlib.contextmanager
def _file_lock(path: str) -> Iterator[None]:
    """Exclusive advisory lock on ``path``, removed when released.

    POSIX ``flock``; a no-op elsewhere. The lock file is deleted while it
    is still locked; a process that was waiting on it then sees that the
    path no longer names the file it locked, and locks the new one.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        except BaseException:
            os.close(fd)
            raise
        if same:
            break
        os.close(fd)
    try:
        yield
    finally:
        try:
            os.remove(path)
        except FileNotFoundError:
            pass
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _check_loadable(path: str, source: str, shown: str) -> None:
    """Delete ``path`` unless it loads weights-only; raise if deleted.

    Args:
        path (str): The downloaded (``.partial``) or cached file.
        source (str): Where it came from, for the message.
        shown (str): What to call the file in the message.
    """
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


def _fetch(url: str, partial: str, progress: bool, timeout: float) -> None:
    """Download ``url`` into ``partial``, resuming a previous attempt."""
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    start = osp.getsize(partial) if osp.isfile(partial) else 0
    if scheme == 'file':
        start = 0
    request = urllib.request.Request(
        url, headers={'User-Agent': f'mmselfemd/{__version__}'})
    if start:
        request.add_header('Range', f'bytes={start}-')
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and start:
            # Range not satisfiable: the partial file is stale; start over.
            os.remove(partial)
            return _fetch(url, partial, progress, timeout)
        raise CheckpointDownloadError(
            f'Downloading the checkpoint "{url}" failed: HTTP {e.code} '
            f'{e.reason}.') from e
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, 'reason', e)
        raise CheckpointDownloadError(
            f'Downloading the checkpoint "{url}" failed: {reason}.') from e

    name = osp.basename(partial)[:-len('.partial')]
    with response:
        partial_content = getattr(response, 'status', None) == 206
        resumed = start > 0 and partial_content and response.headers.get(
            'Content-Range', '').startswith(f'bytes {start}-')
        if partial_content and not resumed:
            response.close()
            if not start:
                raise CheckpointDownloadError(
                    f'Downloading the checkpoint "{url}" failed: the server '
                    'answered a request for the whole file with a part '
                    '(HTTP 206).')
            # Not the range we asked for: drop the partial file, start over.
            os.remove(partial)
            return _fetch(url, partial, progress, timeout)
        if not resumed:
            start = 0
        length = response.headers.get('Content-Length')
        total = start + int(length) if length and length.isdigit() else None
        bar = _Progress(name, total, start, progress)
        try:
            with open(partial, 'ab' if resumed else 'wb') as f:
                for chunk in iter(lambda: response.read(_CHUNK), b''):
                    f.write(chunk)
                    bar.update(len(chunk))
        except (OSError, HTTPException) as e:
            raise CheckpointDownloadError(
                f'Downloading the checkpoint "{url}" was interrupted after '
                f'{bar.done} bytes ({e!r}). The partial file "{partial}" is '
                'kept and the next call resumes it.') from e
        finally:
            bar.close()
    if total is not None and bar.done != total:
        raise CheckpointDownloadError(
            f'Downloading the checkpoint "{url}" ended after {bar.done} of '
            f'{total} bytes. The partial file "{partial}" is kept and the '
            'next call resumes it.')


def _resolve(name_or_url: str, sha256: Optional[str],
             model_index: Optional[str]
             ) -> Tuple[str, bool, Optional[Tuple[str, str]]]:
    """Return (url or path, is_local, (expected hash, its origin))."""
    expected = None
    if sha256 is not None:
        expected = (_check_sha256_arg(sha256), 'given as sha256')
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


def download_checkpoint(name_or_url: str,
                        cache_dir: Optional[str] = None,
                        sha256: Optional[str] = None,
                        progress: bool = True,
                        model_index: Optional[str] = None,
                        timeout: float = 60.0,
                        require_sha256: bool = False) -> str:
    """Fetch a checkpoint into the cache, verify its SHA-256 and its pickle.

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
            :func:`~mmselfemd.apis.model_index.find_model_index`.
        timeout (float): Socket timeout in seconds.
        require_sha256 (bool): Refuse (before downloading) a URL or zoo
            model whose SHA-256 is known nowhere, instead of keeping it
            with a warning. Defaults to False.

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
    if expected is None:
        suffix = hash_prefix_from_filename(filename)
        if suffix:
            expected = (suffix, f'the "-{suffix}" suffix of the file name')
    if expected is None and require_sha256:
        raise ValueError(
            f'The SHA-256 of the checkpoint "{source}" is not known (no '
            f'sha256 argument, no "{WEIGHTS_SHA256_KEY}" in a metafile, no '
            '"-hash8" suffix in the file name), so it cannot be verified '
            'and was not downloaded. Publish it under a name ending in '
            '"-<first 8 hex digits of its SHA-256>.pth", pin it in the '
            'metafile, or download it with tools/model_zoo/download.py '
            '--sha256 HEX and give the local path.')

    directory = get_cache_dir(cache_dir)
    os.makedirs(directory, exist_ok=True)
    dst = osp.join(directory, filename)
    partial = dst + '.partial'
    with _file_lock(dst + '.lock'):
        if osp.isfile(dst):
            if expected is None:
                _warn_unverified(source, dst, None)
                _check_loadable(dst, source, f'cached file "{dst}"')
                return dst
            got = sha256_file(dst)
            if got.startswith(expected[0]):
                _check_loadable(dst, source, f'cached file "{dst}"')
                return dst
            warnings.warn(
                f'Cached checkpoint "{dst}" does not match the SHA-256 '
                f'expected for "{source}" ({_expected_text(expected[0])}, '
                f'got {got}); downloading it again.')
            os.remove(dst)
        _fetch(source, partial, progress, timeout)
        got = sha256_file(partial)
        if expected is not None and not got.startswith(expected[0]):
            os.remove(partial)
            raise _mismatch(
                source, expected, got,
                'The downloaded file was deleted. Check the URL and the '
                'hash; a mirror or proxy may have served a different or '
                'truncated file.')
        _check_loadable(partial, source, f'downloaded file "{dst}"')
        if expected is None:
            _warn_unverified(source, dst, got)
        os.replace(partial, dst)
    return dst


def _warn_unverified(source: str, dst: str, got: Optional[str]) -> None:
    digest = got if got is not None else sha256_file(dst)
    warnings.warn(
        f'The SHA-256 of the checkpoint "{source}" is not known (no sha256 '
        f'argument, no "{WEIGHTS_SHA256_KEY}" in a metafile, no "-hash8" '
        f'file name suffix), so "{dst}" is not verified. Its SHA-256 is '
        f'{digest}; pass it as sha256 to pin it. It is still loaded '
        'weights-only.')


def load_zoo_checkpoint(name_or_url: str,
                        map_location: Optional[Union[str,
                                                     torch.device]] = 'cpu',
                        **kwargs) -> Any:
    """Download (see :func:`download_checkpoint`) and load weights-only.

    Args:
        name_or_url (str): Zoo name, ``zoo://NAME``, URL or local path.
        map_location (str | torch.device, optional): As in
            :func:`torch.load`. Defaults to ``'cpu'``.
        **kwargs: ``cache_dir``, ``sha256``, ``progress``, ``model_index``
            and ``timeout`` of :func:`download_checkpoint`.

    Returns:
        Any: The checkpoint, usually a dict with ``state_dict``.

    Raises:
        UnsafeCheckpointError: If the checkpoint needs a global outside the
            weights-only allow-list; nothing in it is executed.
    """
    path = download_checkpoint(name_or_url, **kwargs)
    return load_checkpoint_safe(path, map_location=map_location)
