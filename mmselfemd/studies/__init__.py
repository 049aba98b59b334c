# Copyright (c) mmselfemd contributors. All rights reserved.
"""Transfer studies: pretraining variants x seeds -> detection AP, with the
statistics of :mod:`mmselfemd.evaluation.study_stats`
(``tools/analysis_tools/transfer_study.py`` is the command line)."""
from .schedule_options import schedule_options
from .study_archive import export_study, restore_study
from .study_config import StudyConfig
from .study_report import StudyReport, fmt_mean_std, mean_std
from .study_runner import DIAG_KEYS, StudyRunner, fmt_duration
from .study_task import StudyTask

__all__ = [
    'DIAG_KEYS', 'StudyConfig', 'StudyReport', 'StudyRunner', 'StudyTask',
    'export_study', 'fmt_duration', 'fmt_mean_std', 'mean_std',
    'restore_study', 'schedule_options'
]
