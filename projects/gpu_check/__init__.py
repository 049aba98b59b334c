# Copyright (c) mmselfemd contributors. All rights reserved.
"""One prepared check of Self-EMD on a CUDA machine, in under 8 minutes
(``projects/gpu_check/tools/gpu_check.py`` is the command line; see
``README.md``).

Seven sections, each under its own time cap (``section_*.py``): ``env``,
``emd``, ``step``, ``head_share``, ``amp``, ``dist`` and ``data``;
:func:`run_gpu_check` runs them and writes ``gpu_check.json`` and
``gpu_check.md`` after each; :func:`judge_targets` holds the measurements
against the speed and stability targets (``TARGETS`` in
``check_settings.py``). ``--device cpu --tiny`` is the CPU rehearsal of
the tests.
"""
from .block_modules import block_modules
from .check_context import CheckContext
from .check_settings import (
    BLOCKED,
    BUDGET_S,
    PLAN_S,
    PRECISION_NAMES,
    SECTIONS,
    SETTINGS,
    STEP_VARIANTS,
    TARGETS,
)
from .deadline import Deadline, SectionTimeout
from .judge_targets import judge_targets
from .render_markdown import render_markdown
from .run_gpu_check import SECTION_FNS, Terminated, run_gpu_check
from .section_amp import section_amp
from .section_data import section_data
from .section_dist import section_dist
from .section_emd import section_emd
from .section_env import section_env
from .section_head_share import section_head_share
from .section_step import section_step
from .write_report import clean_report, write_report

__all__ = [
    'BLOCKED', 'BUDGET_S', 'CheckContext', 'Deadline', 'PLAN_S',
    'PRECISION_NAMES', 'SECTIONS', 'SECTION_FNS', 'SETTINGS',
    'STEP_VARIANTS', 'SectionTimeout', 'TARGETS', 'Terminated',
    'block_modules', 'clean_report', 'judge_targets', 'render_markdown',
    'run_gpu_check', 'section_amp', 'section_data', 'section_dist',
    'section_emd', 'section_env', 'section_head_share', 'section_step',
    'write_report'
]
