# Copyright (c) mmselfemd contributors. All rights reserved.
"""Write the GPU check's report: ``gpu_check.json`` and ``gpu_check.md``."""
import json
import math
import os
import os.path as osp

from .render_markdown import render_markdown


def clean_report(value):
    """JSON-safe: NaN/inf become None, dict keys strings.

    Args:
        value: A report, or any part of it.

    Returns:
        The cleaned copy.
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): clean_report(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_report(v) for v in value]
    return value


def write_report(report: dict, out_dir: str) -> None:
    """Write ``gpu_check.json`` (atomically) and ``gpu_check.md``.

    Args:
        report (dict): The report.
        out_dir (str): Folder (created).
    """
    os.makedirs(out_dir, exist_ok=True)
    clean = clean_report(report)
    tmp = osp.join(out_dir, 'gpu_check.json.tmp')
    with open(tmp, 'w') as f:
        json.dump(clean, f, indent=1)
    os.replace(tmp, osp.join(out_dir, 'gpu_check.json'))
    with open(osp.join(out_dir, 'gpu_check.md'), 'w') as f:
        f.write(render_markdown(clean))
