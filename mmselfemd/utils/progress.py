# Copyright (c) mmselfemd contributors. All rights reserved.
"""Progress of long loops, for people and for logs.

On a terminal, mmengine's ``ProgressBar`` redraws one line in place with
carriage returns. Written to a file or a pipe (a log, CI, ``nohup``), each
of those redraws becomes text: a 100,000-image loop leaves 100,000 bar
updates in the log. :func:`progress` returns mmengine's bar on a terminal
and otherwise a :class:`LineProgress`, which writes one plain line at a
time: when another ``step`` of the work is done or ``interval`` seconds
have passed, and once at the end.
"""
import sys
import time
from typing import Callable, Optional, TextIO

from mmengine.utils import ProgressBar


def _seconds(value: float) -> str:
    value = int(value + 0.5)
    if value < 120:
        return f'{value}s'
    minutes, seconds = divmod(value, 60)
    if minutes < 120:
        return f'{minutes}m{seconds:02d}s'
    hours, minutes = divmod(minutes, 60)
    return f'{hours}h{minutes:02d}m'


class LineProgress:
    """Progress as whole lines, at most one per ``step`` or ``interval``.

    A line is written when the count has grown by ``step`` (a fraction of
    ``total``) since the last line and at least ``min_interval`` seconds
    have passed, or when ``interval`` seconds have passed since the last
    line, and once when the loop is done (the last update or
    :meth:`close`). A loop of a second writes its final line only; a long
    one about a line per ``step`` or per ``interval``. Each line reads,
    e.g., ``decode: 1200/5000 (24%), 310.2 items/s, elapsed 4s, ETA 12s``.

    Args:
        total (int): The number of items the loop will do (0 if unknown).
        file (TextIO): Where to write. Defaults to ``sys.stdout``.
        desc (str): What the loop does, the start of each line.
            Defaults to ``'progress'``.
        step (float): Fraction of ``total`` between two lines.
            Defaults to 0.1.
        min_interval (float): Fewest seconds between two lines written
            for ``step``. Defaults to 1.
        interval (float): Seconds after which a line is written even if
            ``step`` is not reached. Defaults to 60.
        clock (Callable[[], float]): The time source, in seconds.
            Defaults to ``time.monotonic``.
    """

    def __init__(self,
                 total: int,
                 file: Optional[TextIO] = None,
                 desc: str = 'progress',
                 step: float = 0.1,
                 min_interval: float = 1.0,
                 interval: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if total < 0:
            raise ValueError(f'LineProgress: total must be >= 0, got {total}')
        if not 0 < step <= 1:
            raise ValueError(f'LineProgress: step must be in (0, 1], got '
                             f'{step}')
        self.total = total
        self.file = sys.stdout if file is None else file
        self.desc = desc
        self.step_items = max(1, int(total * step)) if total else None
        self.min_interval = min_interval
        self.interval = interval
        self.clock = clock
        self.completed = 0
        self._start = clock()
        self._last_time = self._start
        self._last_count = 0
        self._written = False

    def update(self, num_tasks: int = 1) -> None:
        """Count ``num_tasks`` more items; write a line when one is due.

        Args:
            num_tasks (int): Items done since the last call. Defaults to 1.
        """
        self.completed += num_tasks
        now = self.clock()
        since = now - self._last_time
        by_count = (self.step_items is not None and since >= self.min_interval
                    and self.completed - self._last_count >= self.step_items)
        if by_count or since >= self.interval or \
                self.completed == self.total:
            self._write(now)

    def close(self) -> None:
        """Write the final count if it has not been written yet."""
        if self.completed != self._last_count or not self._written:
            self._write(self.clock())

    def _write(self, now: float) -> None:
        elapsed = now - self._start
        rate = self.completed / elapsed if elapsed > 0 else 0.0
        if self.total:
            done = (f'{self.completed}/{self.total} '
                    f'({100 * self.completed / self.total:.0f}%)')
        else:
            done = f'{self.completed}'
        text = f'{self.desc}: {done}, {rate:.1f} items/s, elapsed ' \
            f'{_seconds(elapsed)}'
        if self.total and 0 < self.completed < self.total and rate > 0:
            text += f', ETA {_seconds((self.total - self.completed) / rate)}'
        self.file.write(text + '\n')
        self.file.flush()
        self._last_time, self._last_count = now, self.completed
        self._written = True


class _TerminalProgress:
    """mmengine's ``ProgressBar`` with a ``close()`` that ends its line."""

    def __init__(self, total: int, file: TextIO) -> None:
        self.file = file
        self.bar = ProgressBar(total, file=file)

    def update(self, num_tasks: int = 1) -> None:
        self.bar.update(num_tasks)

    def close(self) -> None:
        self.file.write('\n')
        self.file.flush()


def progress(total: int,
             file: Optional[TextIO] = None,
             desc: str = 'progress',
             **kwargs):
    """A progress display suited to where the output goes.

    Args:
        total (int): The number of items the loop will do.
        file (TextIO, optional): Where to write. Defaults to ``sys.stdout``.
        desc (str): What the loop does (used by the line display).
        **kwargs: ``step``, ``min_interval``, ``interval``, ``clock`` of
            :class:`LineProgress`.

    Returns:
        An object with ``update(num_tasks=1)`` and ``close()``: mmengine's
        ``ProgressBar`` (redrawn in place) when ``file`` is a terminal,
        otherwise a :class:`LineProgress`.

    Examples:
        >>> bar = progress(len(paths), desc='decode')
        >>> for path in paths:
        ...     work(path)
        ...     bar.update()
        >>> bar.close()
    """
    file = sys.stdout if file is None else file
    isatty = getattr(file, 'isatty', None)
    if isatty is not None and isatty():
        return _TerminalProgress(total, file)
    return LineProgress(total, file=file, desc=desc, **kwargs)
