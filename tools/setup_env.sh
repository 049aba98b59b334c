#!/usr/bin/env bash
# One idempotent command that sets up mmselfemd's environment in .venv/.
#
#   bash tools/setup_env.sh              # set up (or check) the environment
#   bash tools/setup_env.sh --dry-run    # print the decisions, change nothing
#
# Installs, in order: torch + torchvision; the build tools; mmcv 2.1.0
# compiled from source with its ops (C++20 and setuptools<81 fixes, see
# docs/en/get_started.md), with CUDA kernels when a GPU and a matching nvcc
# are present; mmengine, mmdet, mmpretrain, pycocotools, the test
# dependencies and openmim (`mim`); then mmselfemd in editable mode, linked
# where `mim` looks for it. A second run only checks the stamp and that
# mmcv.ops works (on CUDA too when built with it), and finishes in seconds.
#
# Environment variables:
#   MMSELFEMD_VENV       where the venv goes (default: <repo>/.venv)
#   MMSELFEMD_WHEELHOUSE where built mmcv wheels are kept; a sub-folder per
#                        torch build, Python version and ops variant (cpu or
#                        cuXYZ) is used, so a wheel built against another
#                        torch, or without the CUDA kernels, is never reused
#                        (default: ~/.cache/mmselfemd/wheels)
#   MMSELFEMD_TORCH_INDEX_URL
#                        pip index to install torch/torchvision from, to pick
#                        another build of torch 2.14.1, e.g.
#                        https://download.pytorch.org/whl/cu126 for an older
#                        NVIDIA driver, or .../whl/cpu; a build tag at the end
#                        of the URL (cpu, cuXYZ, rocmX.Y) is pinned
#                        (torch==2.14.1+cu126), so a different installed build
#                        is replaced (default: PyPI, a CUDA 13.0 build on
#                        Linux x86_64)
#   MMSELFEMD_MMCV_OPS   auto (default): CUDA kernels when an NVIDIA GPU, nvcc
#                        and a CUDA torch of the same CUDA major version are
#                        found, else CPU only (with a warning when a GPU is
#                        there); cuda: require them (e.g. to build on a node
#                        without a GPU; set TORCH_CUDA_ARCH_LIST then); cpu
#   PYTHON               interpreter that creates the venv (default: python3)
#
# Probes, for tests of the decisions (used instead of looking):
#   MMSELFEMD_PROBE_GPUS        number of NVIDIA GPUs (else: nvidia-smi -L)
#   MMSELFEMD_PROBE_NVCC        nvcc's CUDA version or "none" (else: nvcc in
#                               $CUDA_HOME/bin, on PATH, /usr/local/cuda/bin)
#   MMSELFEMD_PROBE_TORCH_CUDA  torch's CUDA version or "none" (else: the
#                               installed torch, or the build to be installed)
set -euo pipefail

TORCH_VERSION=2.14.1
TORCHVISION_VERSION=0.29.1
MMCV_VERSION=2.1.0
OPENMIM_VERSION=0.3.9
# torch.version.cuda of PyPI's torch 2.14.1 for Linux x86_64 (what a dry run
# assumes before torch is installed from PyPI)
PYPI_TORCH_CUDA=13.0

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMSELFEMD_VENV:-$ROOT/.venv}"
WHEELHOUSE_ROOT="${MMSELFEMD_WHEELHOUSE:-$HOME/.cache/mmselfemd/wheels}"
PY_SYS="${PYTHON:-python3}"
STAMP="$VENV/.mmselfemd-setup"
START=$(date +%s)

DRY_RUN=0
for arg in "$@"; do
  case "$arg" in
    --dry-run) DRY_RUN=1 ;;
    -h | --help)
      sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
      exit 0
      ;;
    *)
      echo "tools/setup_env.sh: error: unknown argument '$arg'" \
        "(expected --dry-run or --help)" >&2
      exit 2
      ;;
  esac
done

log() { printf '[setup %4ss] %s\n' "$(($(date +%s) - START))" "$*"; }
die() {
  echo "tools/setup_env.sh: error: $*" >&2
  exit 1
}

PY="$VENV/bin/python"
PIP=("$PY" -m pip install --disable-pip-version-check -q)

# TORCH_INFO: "<torch CUDA version or none> <wheel cache tag>" of the
# installed torch, empty without one (read once: importing torch is slow).
read_torch() {
  TORCH_INFO=''
  [[ -x "$PY" ]] || return 0
  TORCH_INFO=$("$PY" -c 'import sys, torch; v = sys.version_info; print(torch.version.cuda or "none", f"torch-{torch.__version__}-py{v[0]}{v[1]}".replace("+", "_"))' 2>/dev/null || true)
}
have_torch() { [[ -n "$TORCH_INFO" ]]; }
read_torch

# ---------------------------------------------------------------- torch build
# TORCH_BUILD_TAG: the build tag of MMSELFEMD_TORCH_INDEX_URL, if any.
TORCH_INDEX_URL="${MMSELFEMD_TORCH_INDEX_URL:-}"
TORCH_BUILD_TAG=''
if [[ -n "$TORCH_INDEX_URL" ]]; then
  TORCH_BUILD_TAG=$(basename "${TORCH_INDEX_URL%/}")
  [[ "$TORCH_BUILD_TAG" =~ ^(cpu|cu[0-9]+|rocm[0-9.]+)$ ]] || TORCH_BUILD_TAG=''
fi
TORCH_SPECS=("torch==$TORCH_VERSION${TORCH_BUILD_TAG:++$TORCH_BUILD_TAG}"
  "torchvision==$TORCHVISION_VERSION${TORCH_BUILD_TAG:++$TORCH_BUILD_TAG}")
TORCH_INDEX_ARGS=()
[[ -z "$TORCH_INDEX_URL" ]] || TORCH_INDEX_ARGS=(--index-url "$TORCH_INDEX_URL")

# CUDA version of a build tag: cu126 -> 12.6, cpu/rocm -> none.
tag_cuda() {
  local digits="${1#cu}"
  if [[ "$1" =~ ^cu[0-9]{2,}$ ]]; then
    echo "${digits:0:${#digits}-1}.${digits: -1}"
  else
    echo none
  fi
}

# --------------------------------------------------------------------- probes
find_nvcc() {
  if [[ -n "${CUDA_HOME:-}" && -x "$CUDA_HOME/bin/nvcc" ]]; then
    echo "$CUDA_HOME/bin/nvcc"
  elif command -v nvcc 2>/dev/null; then
    :
  elif [[ -x /usr/local/cuda/bin/nvcc ]]; then
    echo /usr/local/cuda/bin/nvcc
  fi
}

probe_gpus() {
  if [[ -n "${MMSELFEMD_PROBE_GPUS:-}" ]]; then
    echo "$MMSELFEMD_PROBE_GPUS"
  elif command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi -L 2>/dev/null | grep -c '^GPU ' || true
  else
    echo 0
  fi
}

probe_nvcc() {
  if [[ -n "${MMSELFEMD_PROBE_NVCC:-}" ]]; then
    echo "$MMSELFEMD_PROBE_NVCC"
    return
  fi
  local nvcc version
  nvcc=$(find_nvcc || true)
  [[ -n "$nvcc" ]] || { echo none; return; }
  version=$("$nvcc" --version 2>/dev/null |
    sed -n 's/.*release \([0-9][0-9.]*\),.*/\1/p' | head -n 1)
  echo "${version:-none}"
}

# torch's CUDA version; TORCH_CUDA_SOURCE says where it came from.
probe_torch_cuda() {
  if [[ -n "${MMSELFEMD_PROBE_TORCH_CUDA:-}" ]]; then
    TORCH_CUDA="$MMSELFEMD_PROBE_TORCH_CUDA"
    TORCH_CUDA_SOURCE='MMSELFEMD_PROBE_TORCH_CUDA'
  elif have_torch; then
    TORCH_CUDA="${TORCH_INFO%% *}"
    TORCH_CUDA_SOURCE='installed torch'
  elif [[ -n "$TORCH_BUILD_TAG" ]]; then
    TORCH_CUDA=$(tag_cuda "$TORCH_BUILD_TAG")
    TORCH_CUDA_SOURCE="build tag $TORCH_BUILD_TAG of MMSELFEMD_TORCH_INDEX_URL"
  elif [[ -n "$TORCH_INDEX_URL" ]]; then
    TORCH_CUDA=unknown
    TORCH_CUDA_SOURCE='not installed yet; no build tag in the index URL'
  else
    TORCH_CUDA="$PYPI_TORCH_CUDA"
    TORCH_CUDA_SOURCE="assumed: PyPI's torch $TORCH_VERSION (Linux x86_64)"
  fi
}

# ------------------------------------------------------------------ decisions
# Sets MMCV_OPS (cpu|cuda), MMCV_OPS_TAG (cpu|cuXYZ), MMCV_OPS_REASON,
# MMCV_OPS_WARNING, VERIFY_DEVICES and the probe results.
decide_mmcv_ops() {
  local want="${MMSELFEMD_MMCV_OPS:-auto}" problem=''
  case "$want" in
    auto | cpu | cuda) ;;
    *) die "MMSELFEMD_MMCV_OPS=$want: expected auto, cpu or cuda" ;;
  esac
  GPUS=$(probe_gpus)
  [[ "$GPUS" =~ ^[0-9]+$ ]] || die "GPU count '$GPUS' is not a number"
  NVCC_CUDA=$(probe_nvcc)
  probe_torch_cuda

  if [[ "$TORCH_CUDA" == none || "$TORCH_CUDA" == unknown ]]; then
    problem="torch is not a CUDA build (torch CUDA: $TORCH_CUDA)"
  elif [[ "$NVCC_CUDA" == none ]]; then
    problem="no nvcc found (CUDA_HOME, PATH, /usr/local/cuda/bin): install"
    problem+=" the CUDA $TORCH_CUDA toolkit or set CUDA_HOME"
  elif [[ "${NVCC_CUDA%%.*}" != "${TORCH_CUDA%%.*}" ]]; then
    problem="nvcc is CUDA $NVCC_CUDA but torch was built with CUDA"
    problem+=" $TORCH_CUDA (the major versions must match): install the"
    problem+=" CUDA ${TORCH_CUDA%%.*} toolkit, or pick a torch build for"
    problem+=" CUDA ${NVCC_CUDA} with MMSELFEMD_TORCH_INDEX_URL"
  fi

  MMCV_OPS=cpu
  MMCV_OPS_WARNING=''
  VERIFY_DEVICES='cpu'
  if [[ "$want" == cpu ]]; then
    MMCV_OPS_REASON='MMSELFEMD_MMCV_OPS=cpu'
  elif [[ "$want" == cuda ]]; then
    [[ -z "$problem" ]] || die "MMSELFEMD_MMCV_OPS=cuda, but $problem."
    MMCV_OPS=cuda
    MMCV_OPS_REASON="MMSELFEMD_MMCV_OPS=cuda (nvcc $NVCC_CUDA, torch CUDA"
    MMCV_OPS_REASON+=" $TORCH_CUDA, $GPUS GPU(s))"
  elif ((GPUS == 0)); then
    MMCV_OPS_REASON='no NVIDIA GPU found (nvidia-smi)'
  elif [[ -n "$problem" ]]; then
    MMCV_OPS_REASON="$GPUS GPU(s) found, but $problem"
    MMCV_OPS_WARNING="mmcv ops are built for CPU only although $GPUS GPU(s)"
    MMCV_OPS_WARNING+=" are present: mmdet's RoIAlign/nms on CUDA tensors"
    MMCV_OPS_WARNING+=" (detection transfer) will fail; $problem; or set"
    MMCV_OPS_WARNING+=" MMSELFEMD_MMCV_OPS=cpu to accept CPU ops."
  else
    MMCV_OPS=cuda
    MMCV_OPS_REASON="$GPUS GPU(s), nvcc $NVCC_CUDA, torch CUDA $TORCH_CUDA"
  fi
  if [[ "$MMCV_OPS" == cuda ]]; then
    MMCV_OPS_TAG="cu${TORCH_CUDA//./}"
    if ((GPUS > 0)); then
      VERIFY_DEVICES='cpu cuda'
    else
      MMCV_OPS_WARNING='no GPU here: the CUDA kernels are built but only'
      MMCV_OPS_WARNING+=' the CPU ops can be verified.'
    fi
  else
    MMCV_OPS_TAG=cpu
  fi
}

# Wheel cache folder: torch build + Python version + ops variant.
torch_tag() {
  local version py
  if have_torch; then
    echo "${TORCH_INFO#* }"
    return
  fi
  if [[ -n "$TORCH_BUILD_TAG" ]]; then
    version="$TORCH_VERSION+$TORCH_BUILD_TAG"
  elif [[ -z "$TORCH_INDEX_URL" ]]; then
    version="$TORCH_VERSION+cu${PYPI_TORCH_CUDA//./}"
  else
    version="$TORCH_VERSION"
  fi
  if [[ -x "$PY" ]]; then
    py=$("$PY" -c 'import sys; print(f"{sys.version_info[0]}{sys.version_info[1]}")')
  else
    py=$("$PY_SYS" -c 'import sys; print(f"{sys.version_info[0]}{sys.version_info[1]}")')
  fi
  echo "torch-${version//+/_}-py$py"
}

# Before torch is installed, a real run decides after installing it.
if ((DRY_RUN)) || have_torch; then
  decide_mmcv_ops
else
  MMCV_OPS_TAG=undecided
  VERIFY_DEVICES=cpu
fi

# What the environment must match: pins, requirement files, this script and
# the build decisions.
want_stamp() {
  {
    cat "$ROOT/tools/setup_env.sh" "$ROOT"/requirements/*.txt "$ROOT/setup.py"
    echo "ops=$MMCV_OPS_TAG index=$TORCH_INDEX_URL"
  } | sha256sum | cut -c1-16
}

if ((DRY_RUN)); then
  if [[ -x "$PY" ]]; then venv_state='exists'; else venv_state='to create'; fi
  echo "[setup] dry run: nothing is installed or changed"
  echo "venv: $VENV ($venv_state)"
  echo "torch: pip install ${TORCH_SPECS[*]}${TORCH_INDEX_URL:+ --index-url $TORCH_INDEX_URL}"
  echo "torch CUDA: $TORCH_CUDA ($TORCH_CUDA_SOURCE)"
  echo "GPUs: $GPUS"
  echo "nvcc CUDA: $NVCC_CUDA"
  if [[ "$MMCV_OPS" == cuda ]]; then
    echo "mmcv ops: cuda (MMCV_WITH_OPS=1 FORCE_CUDA=1): $MMCV_OPS_REASON"
  else
    echo "mmcv ops: cpu (MMCV_WITH_OPS=1, GPUs hidden from the build): $MMCV_OPS_REASON"
  fi
  [[ -z "$MMCV_OPS_WARNING" ]] || echo "warning: $MMCV_OPS_WARNING"
  echo "mmcv wheel cache: $WHEELHOUSE_ROOT/$(torch_tag)-$MMCV_OPS_TAG"
  echo "verify ops on: $VERIFY_DEVICES"
  exit 0
fi

# Checks RoIAlign and nms against hand-computed values on each device.
verify_mmcv_ops() {
  "$PY" - "$VERIFY_DEVICES" <<'EOF'
import sys

import torch
from mmcv.ops import RoIAlign, nms

for device in sys.argv[1].split():
    feat = torch.arange(16, dtype=torch.float32, device=device).view(
        1, 1, 4, 4)
    rois = torch.tensor([[0., 0., 0., 2., 2.]], device=device)
    out = RoIAlign((1, 1), spatial_scale=1.0, sampling_ratio=1,
                   aligned=True)(feat, rois)
    # centre of the box (1, 1) in aligned coordinates -> pixel (0.5, 0.5)
    assert abs(out.item() - 2.5) < 1e-5, (device, out)
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.],
                          [20., 20., 30., 30.]], device=device)
    scores = torch.tensor([0.9, 0.8, 0.7], device=device)
    _, keep = nms(boxes, scores, iou_threshold=0.5)
    assert keep.tolist() == [0, 2], (device, keep)
EOF
}

# mim finds a package at <dist location>/<name>/.mim; an editable install's
# dist-info is in site-packages, so a link to the source package goes there.
mim_ready() {
  "$PY" - <<'EOF' 2>/dev/null
import importlib.metadata as md
import os.path as osp

dist = md.distribution('mmselfemd')
mim = str(dist.locate_file(osp.join('mmselfemd', '.mim')))
assert osp.isfile(osp.join(mim, 'tools', 'train.py')), mim
assert osp.isfile(osp.join(mim, 'model-index.yml')), mim
EOF
}

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$(want_stamp)" ]] &&
  verify_mmcv_ops 2>/dev/null && mim_ready; then
  log "environment in $VENV is up to date (mmcv.ops verified on" \
    "$VERIFY_DEVICES)"
  [[ -z "$MMCV_OPS_WARNING" ]] || log "WARNING: $MMCV_OPS_WARNING"
  exit 0
fi

if [[ ! -x "$PY" ]]; then
  log "creating virtualenv $VENV with $("$PY_SYS" --version)"
  "$PY_SYS" -m venv "$VENV"
fi

log "installing ${TORCH_SPECS[*]}${TORCH_INDEX_URL:+ from $TORCH_INDEX_URL}"
"${PIP[@]}" ${TORCH_INDEX_ARGS[@]+"${TORCH_INDEX_ARGS[@]}"} "${TORCH_SPECS[@]}"
# the installed torch decides (its CUDA version may differ from a dry run's)
read_torch
decide_mmcv_ops
log "mmcv ops: $MMCV_OPS ($MMCV_OPS_REASON)"
[[ -z "$MMCV_OPS_WARNING" ]] || log "WARNING: $MMCV_OPS_WARNING"

log "installing build tools (requirements/build.txt)"
"${PIP[@]}" -r "$ROOT/requirements/build.txt"

TORCH_TAG=$(torch_tag)
WHEELHOUSE="$WHEELHOUSE_ROOT/$TORCH_TAG-$MMCV_OPS_TAG"
mkdir -p "$WHEELHOUSE"
# Wheels cached by earlier versions of this script (no ops suffix) were
# built without FORCE_CUDA; offer them for CPU ops (verified after install).
if [[ "$MMCV_OPS" == cpu ]] &&
  ! ls "$WHEELHOUSE"/mmcv-"$MMCV_VERSION"-*.whl >/dev/null 2>&1; then
  cp "$WHEELHOUSE_ROOT/$TORCH_TAG"/mmcv-"$MMCV_VERSION"-*.whl \
    "$WHEELHOUSE"/ 2>/dev/null || true
fi

build_mmcv() {
  local tmp
  tmp=$(mktemp -d)
  local build_env=(MMCV_WITH_OPS=1 MAX_JOBS="$(nproc)")
  if [[ "$MMCV_OPS" == cuda ]]; then
    local nvcc
    nvcc=$(find_nvcc || true)
    build_env+=(FORCE_CUDA=1)
    [[ -z "$nvcc" ]] || build_env+=(CUDA_HOME="$(dirname "$(dirname "$nvcc")")")
    log "building mmcv $MMCV_VERSION with CPU and CUDA ops against" \
      "$TORCH_TAG (far longer than the 7 minutes of a CPU-only build; log:" \
      "$WHEELHOUSE/build.log)"
  else
    # mmcv compiles CUDA kernels whenever torch sees a GPU: hide them
    build_env+=(FORCE_CUDA=0 CUDA_VISIBLE_DEVICES=)
    log "building mmcv $MMCV_VERSION with CPU ops against $TORCH_TAG" \
      "(about 7 minutes on 2 idle cores; log: $WHEELHOUSE/build.log)"
  fi
  "$PY" -m pip download --disable-pip-version-check -q --no-deps \
    --no-binary :all: "mmcv==$MMCV_VERSION" -d "$tmp"
  tar -xzf "$tmp"/mmcv-"$MMCV_VERSION".tar.gz -C "$tmp"
  local src="$tmp/mmcv-$MMCV_VERSION"
  # torch >= 2.10 headers need C++20 (host compiler and nvcc); mmcv 2.1.0
  # hard-codes C++17.
  sed -i 's/-std=c++17/-std=c++20/g' "$tmp/mmcv-$MMCV_VERSION/setup.py"
  rm -f "$WHEELHOUSE"/mmcv-*.whl
  # -v makes pip show ninja's "[done/total]" lines, used for progress.
  env "${build_env[@]}" "$PY" -m pip wheel -v \
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
# built against this torch (and with these ops) is installed, building one
# if there is none.
if ! verify_mmcv_ops 2>/dev/null; then
  if ! install_mmcv_wheel; then
    build_mmcv
    install_mmcv_wheel
  fi
fi

log "installing OpenMMLab packages, runtime and test requirements"
"${PIP[@]}" -r "$ROOT/requirements/mminstall.txt" \
  -r "$ROOT/requirements/runtime.txt" -r "$ROOT/requirements/tests.txt"

# openmim's opendatalab dependency (unused by mim's commands) pulls openxlab,
# which pins setuptools~=60.2 (torch 2.14 needs >=77) and downgrades
# requests/urllib3/filelock: install mim's real dependencies, then openmim
# without dependencies.
log "installing openmim $OPENMIM_VERSION (mim)"
"${PIP[@]}" -r "$ROOT/requirements/openmim.txt"
"${PIP[@]}" --no-deps "openmim==$OPENMIM_VERSION"

log "verifying mmcv.ops (RoIAlign, nms on $VERIFY_DEVICES)"
if ! verify_mmcv_ops; then
  log "mmcv.ops does not work with the cached wheel; rebuilding it"
  build_mmcv
  install_mmcv_wheel
  verify_mmcv_ops
fi

log "installing mmselfemd in editable mode"
"${PIP[@]}" --no-deps --no-build-isolation -e "$ROOT"
SITE=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
if [[ -L "$SITE/mmselfemd" || ! -e "$SITE/mmselfemd" ]]; then
  ln -sfn "$ROOT/mmselfemd" "$SITE/mmselfemd"
fi
mim_ready || die "mim cannot find mmselfemd/.mim next to its dist-info in" \
  "$SITE (is another mmselfemd installed there?)"

want_stamp >"$STAMP"
log "done: $VENV ($(du -sh "$VENV" | cut -f1))"
