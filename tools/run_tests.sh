#!/usr/bin/env bash
# README's test command: set up .venv (idempotent), lint, run the test suite.
#
#   bash tools/run_tests.sh [extra pytest args]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash tools/setup_env.sh
PY="${MMSELFEMD_VENV:-$ROOT/.venv}/bin/python"
echo "[tests] ruff check"
"$PY" -m ruff check .
echo "[tests] pytest"
"$PY" -m pytest tests projects "$@"
