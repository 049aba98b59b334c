# Copyright (c) mmselfemd contributors. All rights reserved.
"""Keep a study's finished runs in the repository, so that a later session
(on a fresh checkout, without the work dir) goes on where it stopped."""
import os
import os.path as osp
import shutil
from typing import List

REPORT_FILES = ('selection.json', 'results.json', 'results.md',
                'results.png', 'diagnostics.png')


def export_study(runner, dest: str) -> List[str]:
    """Copy a study's record into ``dest``: the selection and the report
    files, and under ``dest/runs/`` the ``result.json`` of every finished
    fine-tuning with its pretraining's (no checkpoints, no logs: a few kB a
    run). A pretraining whose fine-tunings are not all done is left out,
    since its backbone does not travel; it runs again after a restore.

    Args:
        runner (StudyRunner): The study's runner (its work dir is read).
        dest (str): Output folder (created; files of earlier exports are
            replaced).

    Returns:
        list[str]: The names of the exported runs.
    """
    os.makedirs(dest, exist_ok=True)
    for name in REPORT_FILES:
        src = osp.join(runner.work_dir, name)
        if osp.isfile(src):
            shutil.copyfile(src, osp.join(dest, name))
    finetunes = [t for t in runner.tasks if t.kind == 'finetune']
    keep = [t for t in finetunes if t.done]
    pretrains = {t.deps[0] for t in keep}
    pretrains = {
        p for p in pretrains
        if all(t.done for t in finetunes if t.deps[0] is p)
    }
    keep = [t for t in keep if t.deps[0] in pretrains] + sorted(
        pretrains, key=runner.tasks.index)
    runs_dir = osp.join(dest, 'runs')
    for t in keep:
        rel = osp.relpath(t.result_file, runner.work_dir)
        out = osp.join(runs_dir, rel)
        os.makedirs(osp.dirname(out), exist_ok=True)
        shutil.copyfile(t.result_file, out)
    return [t.name for t in keep]


def restore_study(src: str, work_dir: str) -> int:
    """Copy a record written by :func:`export_study` into ``work_dir``:
    ``selection.json`` and the runs' ``result.json`` files that the work
    dir does not have yet (nothing there is overwritten), so the runner
    skips those runs.

    Args:
        src (str): The exported record.
        work_dir (str): The study's work dir (created).

    Returns:
        int: The number of files copied.
    """
    if not osp.isdir(src):
        raise FileNotFoundError(f'study record "{src}" not found (expected '
                                'a folder written by --export)')
    copied = 0
    pairs = [(osp.join(src, 'selection.json'),
              osp.join(work_dir, 'selection.json'))]
    runs_dir = osp.join(src, 'runs')
    for root, _, files in os.walk(runs_dir):
        for f in files:
            path = osp.join(root, f)
            pairs.append(
                (path, osp.join(work_dir, osp.relpath(path, runs_dir))))
    for a, b in pairs:
        if osp.isfile(a) and not osp.exists(b):
            os.makedirs(osp.dirname(b), exist_ok=True)
            shutil.copyfile(a, b)
            copied += 1
    return copied
