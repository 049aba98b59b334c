# Copyright (c) mmselfemd contributors. All rights reserved.
"""Transfer studies: pretraining variants x seeds -> detection AP, with the
statistics of :mod:`projects.transfer_study.study.stats`
(``projects/transfer_study/tools/transfer_study.py`` is the command line;
see ``projects/transfer_study/README.md``)."""
from .archive import export_study, restore_study
from .config import StudyConfig
from .report import StudyReport, fmt_mean_std, mean_std
from .runner import DIAG_KEYS, StudyRunner, fmt_duration
from .schedule_options import schedule_options
from .task import StudyTask

__all__ = [
    'DIAG_KEYS', 'StudyConfig', 'StudyReport', 'StudyRunner', 'StudyTask',
    'export_study', 'fmt_duration', 'fmt_mean_std', 'mean_std',
    'restore_study', 'schedule_options'
]
