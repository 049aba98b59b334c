#!/usr/bin/env bash
# README's main command: set up .venv (idempotent), then run the demo.
#
#   bash tools/demo.sh [--work-dir DIR]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash tools/setup_env.sh
PY="${MMSELFEMD_VENV:-$ROOT/.venv}/bin/python"
exec "$PY" tools/run_demo.py "$@"
