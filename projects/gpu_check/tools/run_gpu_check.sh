#!/usr/bin/env bash
# The one command of the GPU check on a CUDA machine without a package
# index (projects/gpu_check/README.md): installs the offline bundle
# (make_gpu_bundle.sh) into a separate folder with pip --no-index
# --no-deps, then runs gpu_check.py (both beside this script) with this
# checkout's mmselfemd and projects/ and writes gpu_check.{json,md,log} to
# the out folder.
#
#   bash projects/gpu_check/tools/run_gpu_check.sh [--bundle DIR] [--site DIR]
#       [--python PY] [gpu_check.py arguments, e.g. --out-dir DIR]
#
# Defaults: bundle .gpu_bundle, site /tmp/mmselfemd_site, python $PYTHON
# or python3, out dir $OUT (set by the device tool) or
# work_dirs/gpu_check. The machine must provide Python 3.12 with torch and
# torchvision (CUDA build); without the bundle the packages already
# installed are used and gpu_check.py names what is missing.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
BUNDLE="$ROOT/.gpu_bundle"
SITE="/tmp/mmselfemd_site"
PY="${PYTHON:-python3}"
OUT_DIR="${OUT:-$ROOT/work_dirs/gpu_check}"
ARGS=()
BUDGET=""
TINY=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --bundle) BUNDLE="$2"; shift 2 ;;
        --site) SITE="$2"; shift 2 ;;
        --python) PY="$2"; shift 2 ;;
        --out-dir) OUT_DIR="$2"; shift 2 ;;
        --budget) BUDGET="$2"; shift 2 ;;
        --tiny) TINY=1; ARGS+=("$1"); shift ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) ARGS+=("$1"); shift ;;
    esac
done
if [[ -z "$BUDGET" ]]; then
    BUDGET=$(( TINY ? 300 : 420 ))  # gpu_check.py's defaults
fi
# passed to gpu_check.py explicitly (below), so the budget it keeps to is
# the one the timeout backstop is sized from
mkdir -p "$OUT_DIR"
LOG="$OUT_DIR/gpu_check.log"
say() { echo "[run_gpu_check] $*" | tee -a "$LOG"; }
: > "$LOG"

if ! command -v "$PY" >/dev/null 2>&1; then
    say "error: no Python '$PY' (set PYTHON or --python to the Python" \
        "that has torch)"
    exit 2
fi
if ! "$PY" -c 'import torch, torchvision' >>"$LOG" 2>&1; then
    say "error: '$PY' cannot import torch and torchvision; the machine" \
        "must provide them (a CUDA build); the bundle does not carry them"
    exit 2
fi
say "python: $("$PY" -c 'import sys, torch; print(sys.version.split()[0],
    "torch", torch.__version__, "cuda available:",
    torch.cuda.is_available())')"

if compgen -G "$BUNDLE/wheels/*.whl" >/dev/null; then
    say "installing $(ls "$BUNDLE"/wheels/*.whl | wc -l) wheels from" \
        "$BUNDLE/wheels into $SITE (no index, no dependencies)"
    head -2 "$BUNDLE/MANIFEST.txt" 2>/dev/null | tee -a "$LOG"
    if ! "$PY" -m pip install --no-index --no-deps --no-compile \
            --no-cache-dir --upgrade --disable-pip-version-check --quiet \
            --target "$SITE" "$BUNDLE"/wheels/*.whl >>"$LOG" 2>&1; then
        say "error: pip could not install the bundle (log: $LOG); rebuild" \
            "it with projects/gpu_check/tools/make_gpu_bundle.sh for this" \
            "Python"
        exit 3
    fi
else
    say "no bundle at $BUNDLE (build it with" \
        "projects/gpu_check/tools/make_gpu_bundle.sh);" \
        "using the packages installed in '$PY'"
fi

export PYTHONPATH="$ROOT:$SITE${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
# gpu_check.py keeps to its budget; this is the backstop (it writes its
# JSON after every section, so a kill loses at most the running one).
timeout --signal=TERM --kill-after=20 $((${BUDGET%.*} + 90)) \
    "$PY" "$ROOT/projects/gpu_check/tools/gpu_check.py" \
    --out-dir "$OUT_DIR" \
    --budget "$BUDGET" "${ARGS[@]}" 2>&1 | tee -a "$LOG"
RC=${PIPESTATUS[0]}
say "gpu_check.py exited with $RC; results in $OUT_DIR" \
    "(gpu_check.json, gpu_check.md, gpu_check.log)"
exit "$RC"
