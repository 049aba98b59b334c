# Copyright (c) mmselfemd contributors. All rights reserved.
"""One unit of work of a transfer study."""
import json
import os
import os.path as osp
from typing import Optional, Tuple


class StudyTask:
    """A pretraining (+ extraction + probe) or a fine-tuning of a study.

    Done when its ``result.json`` exists (written atomically at the end),
    so a study resumes by skipping the tasks that are done.

    Args:
        kind (str): ``'pretrain'`` or ``'finetune'``.
        name (str): Display name, e.g. ``'byol/pretrain-s1'``.
        work_dir (str): The task's folder.
        deps (tuple[StudyTask]): Tasks that must be done first.
            Defaults to ().
        meta (dict, optional): ``variant``, ``pseed`` (and ``fseed``).
    """

    def __init__(self,
                 kind: str,
                 name: str,
                 work_dir: str,
                 deps: Tuple['StudyTask', ...] = (),
                 meta: Optional[dict] = None) -> None:
        self.kind = kind
        self.name = name
        self.work_dir = work_dir
        self.deps = deps
        self.meta = dict(meta or {})
        self.progress = 0.0
        self.started: Optional[float] = None

    @property
    def result_file(self) -> str:
        return osp.join(self.work_dir, 'result.json')

    @property
    def done(self) -> bool:
        return osp.isfile(self.result_file)

    def result(self) -> dict:
        with open(self.result_file) as f:
            return json.load(f)

    def write_result(self, result: dict) -> None:
        tmp = self.result_file + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(result, f, indent=1)
        os.replace(tmp, self.result_file)
