#!/usr/bin/env bash
# Copyright (c) mmselfemd contributors. All rights reserved.
# Sourced by the launch scripts (dist_*.sh, slurm_*.sh, benchmarks/): sets
# PYTHON to the interpreter that runs the tools, in this order:
#
#   1. $PYTHON, if set (used as is);
#   2. the activated virtualenv ($VIRTUAL_ENV/bin/python);
#   3. the project's venv made by tools/setup_env.sh
#      (${MMSELFEMD_VENV:-<repo>/.venv}/bin/python), so the scripts work
#      without `source .venv/bin/activate`;
#   4. `python` on PATH (e.g. a conda environment).
#
# For 2-4 the interpreter must import torch; otherwise the script stops with
# one line that says what to do.
#
#   source "$(dirname "${BASH_SOURCE[0]}")/find_python.sh"   # in tools/

_MMSELFEMD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

find_python() {
    if [ -n "${PYTHON:-}" ]; then
        return 0
    fi
    local venv="${MMSELFEMD_VENV:-${_MMSELFEMD_ROOT}/.venv}"
    if [ -n "${VIRTUAL_ENV:-}" ] && [ -x "${VIRTUAL_ENV}/bin/python" ]; then
        PYTHON="${VIRTUAL_ENV}/bin/python"
    elif [ -x "${venv}/bin/python" ]; then
        PYTHON="${venv}/bin/python"
    elif command -v python >/dev/null 2>&1; then
        PYTHON=python
    else
        PYTHON=python3
    fi
    if ! "${PYTHON}" -c 'import torch' >/dev/null 2>&1; then
        echo "$(basename "$0"): error: ${PYTHON} cannot import torch:" \
            "run \`bash tools/setup_env.sh\` (creates ${venv}), activate" \
            "an environment with torch, or set PYTHON=/path/to/python." >&2
        exit 1
    fi
}

find_python
export PYTHON
