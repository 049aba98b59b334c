# Copyright (c) mmselfemd contributors. All rights reserved.
import subprocess
import sys

SCRIPT = """
import torch
from mmselfemd.engine.hooks import PortableCheckpointHook
from mmselfemd.utils import LEGACY_CHECKPOINT_GLOBALS

before = list(torch.serialization.get_safe_globals())
hook = PortableCheckpointHook()
assert torch.serialization.get_safe_globals() == before, 'changed at init'
hook.before_run(None)
after = torch.serialization.get_safe_globals()
missing = [g for g in LEGACY_CHECKPOINT_GLOBALS if g not in after]
assert not missing, missing
assert len(after) == len(before) + len(
    [g for g in LEGACY_CHECKPOINT_GLOBALS if g not in before]), after
print('ok')
"""


def test_before_run_allows_legacy_checkpoints_only():
    """A run started by a tool that does not call ``register_all_modules``
    (MMDetection's own train.py with ``custom_imports``) gets the
    allow-list from the hook's ``before_run``, which mmengine calls before
    it resumes; importing or building the hook changes nothing."""
    out = subprocess.run([sys.executable, '-c', SCRIPT],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == 'ok'
