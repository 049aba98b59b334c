# Copyright (c) mmselfemd contributors. All rights reserved.
"""Run the GPU check's sections within a time budget."""
import argparse
import datetime
import gc
import shutil
import signal
import sys
import tempfile
import time
import traceback

from .block_modules import block_modules
from .check_context import CheckContext
from .check_settings import BUDGET_S, PLAN_S
from .deadline import Deadline, SectionTimeout
from .judge_targets import judge_targets
from .section_amp import section_amp
from .section_data import section_data
from .section_dist import section_dist
from .section_emd import section_emd
from .section_env import section_env
from .section_head_share import section_head_share
from .section_step import section_step
from .write_report import write_report

SECTION_FNS = dict(env=section_env, emd=section_emd, step=section_step,
                   head_share=section_head_share, amp=section_amp,
                   dist=section_dist, data=section_data)


class Terminated(Exception):
    """The process got SIGTERM (e.g. from ``timeout``)."""


def _hard_limit(seconds: float) -> None:
    """Raise SectionTimeout in the main thread after ``seconds``."""

    def handler(signum, frame):
        raise SectionTimeout(f'hard time limit ({seconds:.0f} s) reached')

    signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 1))


def _sigterm(signum, frame):
    raise Terminated(f'terminated by signal {signum}')


def _free_memory() -> None:
    """Release what a finished section left (its locals are gone)."""
    gc.collect()
    torch = sys.modules.get('torch')
    if torch is not None and torch.cuda.is_available() and \
            torch.cuda.is_initialized():
        torch.cuda.empty_cache()


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(
        timespec='seconds')


def _run_section(name: str, ctx: CheckContext, soft: float,
                 rec: dict) -> None:
    """One section under its soft cap (and a hard limit above it), into
    its record ``rec``; a failure is recorded, not raised (except
    SIGTERM)."""
    t0 = time.monotonic()
    try:
        if soft <= 1:
            raise SectionTimeout('no time left in the budget')
        _hard_limit(soft + max(30.0, 0.25 * soft))
        result = SECTION_FNS[name](ctx, Deadline(soft))
        signal.setitimer(signal.ITIMER_REAL, 0)
        rec['status'] = result.pop('_status', 'ok')
        rec['result'] = result
    except Terminated as exc:
        signal.setitimer(signal.ITIMER_REAL, 0)
        rec.update(status='killed', error=str(exc))
        raise
    except Exception as exc:  # noqa: BLE001 (recorded, go on)
        signal.setitimer(signal.ITIMER_REAL, 0)
        status = 'timeout' if isinstance(exc, SectionTimeout) \
            else 'failed'
        rec.update(status=status,
                   error=f'{type(exc).__name__}: {exc}',
                   traceback=traceback.format_exc()[-4000:])
    rec['elapsed_s'] = time.monotonic() - t0


def run_gpu_check(args: argparse.Namespace, command: str = '') -> dict:
    """Run the sections, writing the report after each.

    mmdet, mmcv's compiled ops and pycocotools (``BLOCKED``) are made
    unimportable first (unless ``args.allow_full_mmcv``). Each section
    gets its planned share of the budget (``PLAN_S``) plus what earlier
    sections left unused, as a soft deadline, and a hard limit 30 s (or
    25 %) above it; every section runs even if an earlier one failed.
    ``gpu_check.json`` and ``gpu_check.md`` are rewritten after every
    section and at the end, also when SIGTERM arrives (the running
    section is then marked ``killed``; the previous SIGTERM handler is
    restored at the end).

    Args:
        args (argparse.Namespace): ``sections`` (names, in order),
            ``budget`` (seconds or None for the default), ``out_dir``,
            ``allow_full_mmcv``, ``keep_scratch``, and what
            :class:`CheckContext` reads.
        command (str): The command line, for the report.

    Returns:
        dict: The report.
    """
    budget = args.budget or BUDGET_S['tiny' if args.tiny else 'full']
    blocked = [] if args.allow_full_mmcv else block_modules()
    scratch = tempfile.mkdtemp(prefix='gpu_check_')
    ctx = CheckContext(args, scratch, blocked)
    report = dict(
        version=1, command=command, started=_now(), device=args.device,
        tiny=args.tiny, budget_s=budget, sections={}, targets={})
    previous_sigterm = signal.signal(signal.SIGTERM, _sigterm)
    # quiet: weight-init reports and "requires_grad=False" notes
    from mmengine.logging import MMLogger
    MMLogger.get_instance('gpu_check', log_level='ERROR')
    if not args.tiny and args.device == 'cpu':
        ctx.log('warning: the full sizes (ResNet-50, batch 64) on a CPU '
                'take far longer than the budget; sections will stop early '
                'or time out. Use --tiny for the CPU rehearsal.')
    t_start = time.monotonic()
    plan_total = sum(PLAN_S[s] for s in args.sections)
    planned_end = 0.0
    try:
        for name in args.sections:
            planned_end += budget * PLAN_S[name] / plan_total
            now = time.monotonic() - t_start
            soft = max(planned_end - now, 0.5 * budget * PLAN_S[name] /
                       plan_total)
            soft = min(soft, budget - now)
            rec = dict(status='running', cap_s=soft)
            report['sections'][name] = rec
            ctx.log(f'{name}: start (cap {soft:.0f} s, '
                    f'{budget - now:.0f} s of the budget left)')
            _run_section(name, ctx, soft, rec)
            ctx.results[name] = rec
            _free_memory()
            ctx.log(f"{name}: {rec['status']} in {rec['elapsed_s']:.1f} s"
                    + (f" -- {rec['error'][:500]}" if rec.get('error')
                       else ''))
            report['targets'] = judge_targets(ctx)
            write_report(report, args.out_dir)
    except Terminated:
        pass
    finally:
        report['finished'] = _now()
        report['elapsed_s'] = time.monotonic() - t_start
        report['targets'] = judge_targets(ctx)
        if args.keep_scratch:
            report['scratch'] = scratch
        write_report(report, args.out_dir)
        if not args.keep_scratch:
            shutil.rmtree(scratch, ignore_errors=True)
        signal.signal(signal.SIGTERM, previous_sigterm)
    return report
