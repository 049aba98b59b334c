# Copyright (c) mmselfemd contributors. All rights reserved.
"""Resumable HTTP downloads into a ``.partial`` file, under a file lock.

The transfer layer of :func:`~mmselfemd.utils.checkpoint_download.
download_checkpoint`: :func:`fetch_resumable` appends to an earlier partial
file with an HTTP ``Range`` request and refuses a short download, and
:func:`file_lock` serialises the processes that fetch the same file.
"""
import contextlib
import os
import os.path as osp
import sys
import urllib.error
import urllib.parse
import urllib.request
from http.client import HTTPException
from typing import Iterator, Optional

from mmselfemd.version import __version__

from .progress import progress

_CHUNK = 1 << 20


class CheckpointDownloadError(RuntimeError):
    """Raised when a checkpoint cannot be fetched (HTTP or I/O error)."""


def _mib(n: int) -> int:
    return -(-n // _CHUNK)  # whole MiB, rounded up


class _Progress:
    """Download progress in MiB on stderr (:func:`~.progress.progress`:
    mmengine's ``ProgressBar`` on a terminal, lines in a log)."""

    def __init__(self, name: str, total: Optional[int], start: int,
                 enabled: bool) -> None:
        self.done = start
        self._shown = 0
        self._bar = progress(
            _mib(total or 0), file=sys.stderr,
            desc=f'Downloading {name} (MiB)') if enabled else None
        self.update(0)

    def update(self, n: int, final: bool = False) -> None:
        self.done += n
        mib = _mib(self.done) if final else self.done // _CHUNK
        if self._bar is not None and mib > self._shown:
            self._bar.update(mib - self._shown)
            self._shown = mib

    def close(self) -> None:
        if self._bar is not None:
            self.update(0, final=True)
            self._bar.close()


@contextlib.contextmanager
def file_lock(path: str) -> Iterator[None]:
    """Exclusive advisory lock on ``path``, removed when released.

    POSIX ``flock``; a no-op elsewhere. The lock file is deleted while it
    is still locked; a process that was waiting on it then sees that the
    path no longer names the file it locked, and locks the new one.
    mmengine has no inter-process lock, and ``filelock`` leaves its lock
    file in the cache.

    Args:
        path (str): The lock file (created if needed).
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


def _open(url: str, partial: str, start: int, timeout: float):
    """Open ``url`` from byte ``start``; None if ``partial`` is stale."""
    request = urllib.request.Request(
        url, headers={'User-Agent': f'mmselfemd/{__version__}'})
    if start:
        request.add_header('Range', f'bytes={start}-')
    try:
        return urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and start:
            # Range not satisfiable: the partial file is stale; start over.
            os.remove(partial)
            return None
        raise CheckpointDownloadError(
            f'Downloading the checkpoint "{url}" failed: HTTP {e.code} '
            f'{e.reason}.') from e
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, 'reason', e)
        raise CheckpointDownloadError(
            f'Downloading the checkpoint "{url}" failed: {reason}.') from e


def fetch_resumable(url: str, partial: str, progress: bool,
                    timeout: float) -> None:
    """Download ``url`` into ``partial``, resuming a previous attempt.

    torch.hub's ``download_url_to_file`` (behind mmengine's ``load_url``)
    starts over after an interruption and keeps a short file when no hash
    is given; this appends to ``partial`` and checks ``Content-Length``.

    Args:
        url (str): An ``http(s)://`` or ``file://`` URL.
        partial (str): The file to write, ``<final name>.partial``.
        progress (bool): Show progress on stderr (on a terminal).
        timeout (float): Socket timeout in seconds.

    Raises:
        CheckpointDownloadError: If the transfer fails or ends short; the
            partial file is kept for the next call to resume.
    """
    is_file = urllib.parse.urlsplit(url).scheme.lower() == 'file'
    start = osp.getsize(partial) if osp.isfile(partial) and not is_file \
        else 0
    response = _open(url, partial, start, timeout)
    if response is None:
        return fetch_resumable(url, partial, progress, timeout)
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
            return fetch_resumable(url, partial, progress, timeout)
        start = start if resumed else 0
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
