# Copyright (c) mmselfemd contributors. All rights reserved.
"""Run a transfer study: pretraining variants x seeds -> detection AP.

One command runs, for every variant of a study config and every seed:
pretraining (``tools/train.py``), backbone extraction, the RoI probe (when
the config has one) and Faster R-CNN fine-tuning with COCO AP, with equal
compute for every variant. Variants that ``select`` from a group take the
settings of the group's best member once every member is scored (on the
validation split; decided once, ``selection.json``). Finished runs are
skipped, so the command resumes where it stopped; an interrupted
pretraining resumes from its last checkpoint. Progress and an ETA are
printed as it goes.

Outputs in ``--work-dir``: ``results.json`` (every run, the aggregates,
the tests), ``results.md``, ``results.png`` and ``diagnostics.png``. The
library code is :mod:`projects.transfer_study.study`; the statistics are
:mod:`projects.transfer_study.study.stats`.

Usage, from the repository root::

    python projects/transfer_study/tools/transfer_study.py STUDY_CONFIG \
        [--work-dir work_dirs/<config name>] [--jobs 2] [--threads 1] \
        [--variants NAME ...] [--quick] [--report-only] [--dry-run] \
        [--restore DIR] [--export DIR]

See ``projects/transfer_study/README.md`` for the study config format and
``projects/transfer_study/configs/`` for the studies.
"""
import argparse
import os
import os.path as osp
import sys

# the repository root: the tools run there and ``projects`` imports from it
ROOT = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='study config file')
    parser.add_argument('--work-dir', help='output folder (default: '
                        'work_dirs/<study config name>)')
    parser.add_argument('--jobs', type=int, default=1,
                        help='runs at a time (default 1)')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch/OpenMP threads per run (default: cores '
                        '/ jobs)')
    parser.add_argument('--variants', nargs='+',
                        help='run only these variants (and the selection '
                        'groups they need; default: all)')
    parser.add_argument('--quick', action='store_true',
                        help="the study config's quick settings: tiny data "
                        'and a few iterations (a smoke test; AP is '
                        'meaningless)')
    parser.add_argument('--report-only', action='store_true',
                        help='write the report from the finished runs, run '
                        'nothing')
    parser.add_argument('--dry-run', action='store_true',
                        help='print the runs that are done and left')
    parser.add_argument('--reprobe', action='store_true',
                        help='run the RoI probe again on every finished '
                        'pretraining, update the results and write the '
                        'report; trains nothing')
    parser.add_argument('--restore', metavar='DIR',
                        help='first copy a record written by --export '
                        '(selection and finished runs) into the work dir, '
                        'so a fresh checkout goes on where the record '
                        'stopped')
    parser.add_argument('--export', metavar='DIR',
                        help='at the end copy the selection, the report and '
                        "the finished runs' result.json files (no "
                        'checkpoints) to DIR, a folder to commit (the '
                        'records of the studies are under '
                        'projects/transfer_study/records/)')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    from projects.transfer_study.study import (
        StudyConfig,
        StudyReport,
        StudyRunner,
        export_study,
        restore_study,
    )
    args = parse_args(argv)
    work_dir = args.work_dir or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0] +
        ('_quick' if args.quick else ''))
    if args.restore:
        n = restore_study(args.restore, work_dir)
        print(f'[study] restored {n} files from {args.restore}', flush=True)
    # a group decided before (selection.json) whose members' runs are not in
    # the work dir (a restored record) does not run its members again
    decided = StudyRunner.decided_without_runs(args.config, work_dir)
    study = StudyConfig(args.config, quick=args.quick, only=args.variants,
                        decided=decided)
    threads = args.threads or max(1, (os.cpu_count() or 1) // args.jobs)
    runner = StudyRunner(study, work_dir, args.jobs, threads, ROOT)
    report = StudyReport(runner)
    runner.on_update = report.write
    if args.dry_run:
        for t in runner.tasks:
            print(f'{"done" if t.done else "todo"} {t.kind:9s} {t.name}')
        return
    os.makedirs(runner.work_dir, exist_ok=True)
    failed = []
    if args.reprobe:
        runner.reprobe()
    elif not args.report_only:
        failed = runner.run()
    report.write()
    print(f'[study] report: {osp.join(runner.work_dir, "results.md")}, '
          f'{osp.join(runner.work_dir, "results.png")}, '
          f'{osp.join(runner.work_dir, "results.json")}')
    if args.export:
        names = export_study(runner, args.export)
        print(f'[study] exported the report and {len(names)} finished runs '
              f'to {args.export}', flush=True)
    if failed:
        raise SystemExit(f'[study] {len(failed)} runs failed or were '
                         f'blocked: {[t.name for t in failed]}; fix the '
                         'cause and run the same command again (finished '
                         'runs are kept)')


if __name__ == '__main__':
    main()
