#!/usr/bin/env bash
# One idempotent command that sets up mmselfemd's environment in .venv/.
#
#   bash tools/setup_env.sh
#
# Installs, in order: torch + torchvision; the build tools; mmcv 2.1.0
# compiled from source with its ops (C++20 and setuptools<81 fixes, see
# docs/en/get_started.md); mmengine, mmdet, mmpretrain, pycocotools, the test
# dependencies; then mmselfemd in editable mode. A second run only checks the
# stamp and that mmcv.ops works, and finishes in seconds.
#
# Environment variables:
#   MMSELFEMD_VENV       where the venv goes (default: <repo>/.venv)
#   MMSELFEMD_WHEELHOUSE where built mmcv wheels are kept; a sub-folder per
#                        torch + Python version is used, so a wheel built
#                        against another torch is never reused
#                        (default: ~/.cache/mmselfemd/wheels)
#   PYTHON               interpreter that creates the venv (default: python3)
set -euo pipefail

TORCH_VERSION=2.14.1
TORCHVISION_VERSION=0.29.1
MMCV_VERSION=2.1.0

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMSELFEMD_VENV:-$ROOT/.venv}"
WHEELHOUSE_ROOT="${MMSELFEMD_WHEELHOUSE:-$HOME/.cache/mmselfemd/wheels}"
PY_SYS="${PYTHON:-python3}"
STAMP="$VENV/.mmselfemd-setup"
START=$(date +%s)

log() { printf '[setup %4ss] %s\n' "$(($(date +%s) - START))" "$*"; }

# What the environment must match: pins, requirement files and this script.
want_stamp() {
  cat "$ROOT/tools/setup_env.sh" "$ROOT"/requirements/*.txt \
    "$ROOT/setup.py" | sha256sum | cut -c1-16
}

PY="$VENV/bin/python"
PIP=("$PY" -m pip install --disable-pip-version-check -q)

verify_mmcv_ops() {
  "$PY" - <<'EOF'
import torch
from mmcv.ops import RoIAlign, nms

feat = torch.arange(16, dtype=torch.float32).view(1, 1, 4, 4)
rois = torch.tensor([[0., 0., 0., 2., 2.]])
out = RoIAlign((1, 1), spatial_scale=1.0, sampling_ratio=1,
               aligned=True)(feat, rois)
# centre of the box (1, 1) in aligned coordinates -> pixel (0.5, 0.5)
assert abs(out.item() - 2.5) < 1e-5, out
boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.],
                      [20., 20., 30., 30.]])
scores = torch.tensor([0.9, 0.8, 0.7])
_, keep = nms(boxes, scores, iou_threshold=0.5)
assert keep.tolist() == [0, 2], keep
EOF
}

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$(want_stamp)" ]] &&
  verify_mmcv_ops 2>/dev/null; then
  log "environment in $VENV is up to date (mmcv.ops verified)"
  exit 0
fi

if [[ ! -x "$PY" ]]; then
  log "creating virtualenv $VENV with $("$PY_SYS" --version)"
  "$PY_SYS" -m venv "$VENV"
fi

log "installing torch==$TORCH_VERSION torchvision==$TORCHVISION_VERSION"
"${PIP[@]}" "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION"

log "installing build tools (requirements/build.txt)"
"${PIP[@]}" -r "$ROOT/requirements/build.txt"

TORCH_TAG=$("$PY" -c 'import sys, torch; print(f"torch-{torch.__version__}-py{sys.version_info[0]}{sys.version_info[1]}".replace("+", "_"))')
WHEELHOUSE="$WHEELHOUSE_ROOT/$TORCH_TAG"
mkdir -p "$WHEELHOUSE"

build_mmcv() {
  local tmp
  tmp=$(mktemp -d)
  log "building mmcv $MMCV_VERSION with ops against $TORCH_TAG" \
    "(about 7 minutes on 2 idle cores; log: $WHEELHOUSE/build.log)"
  "$PY" -m pip download --disable-pip-version-check -q --no-deps \
    --no-binary :all: "mmcv==$MMCV_VERSION" -d "$tmp"
  tar -xzf "$tmp"/mmcv-"$MMCV_VERSION".tar.gz -C "$tmp"
  local src="$tmp/mmcv-$MMCV_VERSION"
  # torch >= 2.10 headers need C++20; mmcv 2.1.0 hard-codes C++17.
  sed -i 's/-std=c++17/-std=c++20/g' "$tmp/mmcv-$MMCV_VERSION/setup.py"
  rm -f "$WHEELHOUSE"/mmcv-*.whl
  local jobs
  jobs=$(nproc)
  # -v makes pip show ninja's "[done/total]" lines, used for progress.
  MMCV_WITH_OPS=1 MAX_JOBS="$jobs" "$PY" -m pip wheel -v \
    --disable-pip-version-check --no-build-isolation --no-deps \
    --no-cache-dir -w "$WHEELHOUSE" "$tmp/mmcv-$MMCV_VERSION" \
    >"$WHEELHOUSE/build.log" 2>&1 &
  local pid=$!
  local t0
  t0=$(date +%s)
  while kill -0 "$pid" 2>/dev/null; do
    sleep 30
    local el prog done_ total eta
    el=$(($(date +%s) - t0))
    # ninja prints "[done/total]"; without ninja, setuptools prints one
    # compiler command per source file of mmcv/ops/csrc/pytorch{,/cpu}.
    prog=$(grep -oE '^\[[0-9]+/[0-9]+\]' "$WHEELHOUSE/build.log" |
      tail -n 1 | tr -d '[]' || true)
    if [[ -z "$prog" ]]; then
      done_=$(grep -cE ' -c [^ ]+\.cpp -o ' "$WHEELHOUSE/build.log" || true)
      total=$(find "$src/mmcv/ops/csrc/pytorch" \
        "$src/mmcv/ops/csrc/pytorch/cpu" -maxdepth 1 -name '*.cpp' \
        2>/dev/null | wc -l)
      prog="$done_/$total"
    fi
    done_=${prog%/*}
    total=${prog#*/}
    if ((done_ > 0 && total > 0)); then
      eta=$((el * (total - done_) / done_))
      log "  mmcv build: compiling $done_/$total sources, ${el}s elapsed," \
        "ETA ~${eta}s"
    else
      log "  mmcv build: preparing, ${el}s elapsed"
    fi
  done
  if ! wait "$pid"; then
    tail -n 40 "$WHEELHOUSE/build.log" >&2
    log "ERROR: mmcv build failed; full log in $WHEELHOUSE/build.log"
    exit 1
  fi
  rm -rf "$tmp"
}

install_mmcv_wheel() {
  local whl
  whl=$(ls "$WHEELHOUSE"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n 1)
  [[ -n "$whl" ]] || return 1
  log "installing $(basename "$whl") from $WHEELHOUSE"
  "${PIP[@]}" --force-reinstall --no-deps "$whl"
}

# mmcv.ops imports mmengine, so the real check can only run once the
# OpenMMLab requirements are installed; before that, only make sure a wheel
# built against this torch is installed (building one if there is none).
if ! verify_mmcv_ops 2>/dev/null; then
  if ! install_mmcv_wheel; then
    build_mmcv
    install_mmcv_wheel
  fi
fi

log "installing OpenMMLab packages, runtime and test requirements"
"${PIP[@]}" -r "$ROOT/requirements/mminstall.txt" \
  -r "$ROOT/requirements/runtime.txt" -r "$ROOT/requirements/tests.txt"

log "verifying mmcv.ops (RoIAlign, nms on CPU)"
if ! verify_mmcv_ops; then
  log "mmcv.ops does not work with the cached wheel; rebuilding it"
  build_mmcv
  install_mmcv_wheel
  verify_mmcv_ops
fi

log "installing mmselfemd in editable mode"
"${PIP[@]}" --no-deps --no-build-isolation -e "$ROOT"

want_stamp >"$STAMP"
log "done: $VENV ($(du -sh "$VENV" | cut -f1))"
