# Copyright (c) mmselfemd contributors. All rights reserved.
"""One-paragraph reports of user errors in the command-line tools.

An error caused by what the user gave (a config, a path, data, a
checkpoint) ends a tool with one paragraph on stderr and exit status 1;
``--debug`` shows the traceback instead. Any other exception (a bug) keeps
its traceback.
"""
import argparse
import os.path as osp
import sys
import traceback
from typing import Callable, Sequence, Tuple, Type

from .safe_load import UnsafeCheckpointError

# Exception types that report a bad config, path, file, data or checkpoint.
USER_ERRORS: Tuple[Type[BaseException], ...] = (
    FileNotFoundError, NotADirectoryError, IsADirectoryError, KeyError,
    TypeError, ValueError, ImportError, SyntaxError, UnsafeCheckpointError)


def add_debug_argument(parser: argparse.ArgumentParser) -> None:
    """Add the ``--debug`` flag that turns reports back into tracebacks.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
    """
    parser.add_argument(
        '--debug',
        action='store_true',
        help='show the full traceback of configuration, file and data '
        'errors (by default they are reported as one paragraph)')


def describe_user_error(exc: BaseException) -> str:
    """One paragraph for a configuration, file or data error.

    A bare ``KeyError`` raised by a config lookup (``cfg['model']`` on a
    config without that key) is reworded to name the missing key and the
    code that expected it.

    Args:
        exc (BaseException): The exception.

    Returns:
        str: The message, without line breaks.
    """
    frames = traceback.extract_tb(exc.__traceback__)
    msg = str(exc.args[0]) if isinstance(exc, KeyError) and len(
        exc.args) == 1 else str(exc)
    if isinstance(exc, KeyError) and frames and osp.join(
            'mmengine', 'config') in frames[-1].filename:
        user = next((f for f in reversed(frames[:-1])
                     if osp.join('mmengine', 'config') not in f.filename),
                    None)
        where = f' ({user.name} in {osp.basename(user.filename)})' \
            if user else ''
        msg = (f'the config has no key {msg!r}, which is required{where}; '
               'check the config file for a missing or misspelt entry')
    where = f' [raised in {frames[-1].filename}:{frames[-1].lineno}]' \
        if frames else ''
    text = f'{type(exc).__name__}: {msg}{where}. Run with --debug for ' \
        'the full traceback.'
    return ' '.join(text.split())


def run_cli(main: Callable[[], None],
            prog: str,
            debug: bool = False,
            errors: Sequence[Type[BaseException]] = USER_ERRORS) -> None:
    """Run a tool's ``main``; report user errors as one paragraph.

    Args:
        main (callable): The tool's work, called without arguments (the
            command line is parsed before, e.g. ``lambda: run(args)``).
        prog (str): The name the report starts with, e.g.
            ``'tools/test.py'``.
        debug (bool): The parsed ``--debug`` flag (see
            :func:`add_debug_argument`): re-raise instead of reporting.
            Defaults to False.
        errors (Sequence[type]): The exception types to report. Defaults
            to :data:`USER_ERRORS`.
    """
    try:
        main()
    except tuple(errors) as exc:
        if debug:
            raise
        print(f'{prog}: error: {describe_user_error(exc)}', file=sys.stderr)
        sys.exit(1)
