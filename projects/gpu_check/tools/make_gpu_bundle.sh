#!/usr/bin/env bash
# Build the offline bundle of the GPU check (gpu_check.py beside this
# script) for a CUDA machine that has Python 3.12, torch and torchvision
# but no package index (projects/gpu_check/README.md):
#
#   .gpu_bundle/wheels/    Python 3.12 wheels of what the check needs beyond
#                          what such a machine has: pure-Python wheels and
#                          manylinux x86_64 binaries only, nothing to compile
#                          (mmcv-lite: no compiled ops; no mmdet)
#   .gpu_bundle/project/   a wheel of mmselfemd built from this working tree
#   .gpu_bundle/projects/  the GPU check's code, projects/gpu_check and the
#                          projects it imports (projects/benchmarks), which
#                          the wheel does not hold
#   .gpu_bundle/images/    COCO-size JPEGs (640x480) of scikit-image photos
#   .gpu_bundle/MANIFEST.txt  files, sizes, SHA-256, git commit
#
#   bash projects/gpu_check/tools/make_gpu_bundle.sh [--out DIR] [--python PY]
#       [--python-version 3.12] [--verify PY312]
#
# Needs pip access to PyPI (run it here, not on the GPU machine) and a
# Python with this project's dependencies (default: .venv/bin/python) for
# the project wheel and the images. The total must stay under 60 MB.
# Every requirement in requirements/{runtime,mminstall,optional}.txt must
# be carried, be expected on the machine, or be skipped with a reason (the
# lists below); an unknown one is carried automatically (latest cpXY
# wheel) and reported, so that a new dependency is not forgotten.
# --verify PY312: then install the bundle's wheels (the project wheel
# included) offline into a temporary folder for that Python 3.12 (one with
# torch, like the GPU machine's) and run the env section of the bundle's
# copy of the check with nothing else on the path, which imports the whole
# pretraining path and fails on anything missing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
OUT="$ROOT/.gpu_bundle"
PY="$ROOT/.venv/bin/python"
VERIFY=""
PY_VERSION=3.12
while [[ $# -gt 0 ]]; do
    case "$1" in
        --out) OUT="$2"; shift 2 ;;
        --python) PY="$2"; shift 2 ;;
        --verify) VERIFY="$2"; shift 2 ;;
        --python-version) PY_VERSION="$2"; shift 2 ;;
        -h|--help) sed -n '2,31p' "$0"; exit 0 ;;
        *) echo "make_gpu_bundle.sh: unknown argument '$1' (expected" \
               "--out DIR, --python PY, --python-version X.Y or --verify" \
               "PY)" >&2; exit 2 ;;
    esac
done
MAX_MB=60
CP="cp${PY_VERSION/./}"
PLATFORMS=(manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64
           manylinux2014_x86_64 manylinux1_x86_64)
# Carried, pinned: the OpenMMLab stack without compiled ops, the solvers the
# check compares, and what they import that the machine lacks (mmengine:
# addict, yapf (+ platformdirs), termcolor; mmpretrain: mat4py, modelindex
# (-> model-index -> ordered-set), importlib-metadata (8.x needs only zipp);
# mmselfemd: simplejpeg (strict JPEG decoding).
CARRIED=(
    mmengine==0.10.7 mmcv-lite==2.1.0 mmpretrain==1.2.0
    POT==0.9.7.post1 geomloss==0.3.1
    addict==2.4.0 yapf==0.43.0 platformdirs==4.14.8 termcolor==3.3.0
    mat4py==0.6.0 modelindex==0.0.2 model-index==0.1.11 ordered-set==4.1.0
    importlib-metadata==8.7.0
    simplejpeg==1.9.0
)
# Expected on the machine (torch, torchvision and the scientific stack of
# the lent H200 image, /work/.library/device/KINDS.md); not carried.
PROVIDED="torch torchvision numpy scipy matplotlib pillow scikit-image
opencv-python opencv-python-headless pyyaml rich einops packaging zipp
click markdown setuptools regex tensorboard"
# Not needed for pretraining (detection transfer only), not carried.
SKIPPED="mmdet pycocotools mmcv"

cd "$ROOT"
echo "[bundle] into $OUT (Python $PY_VERSION, ${PLATFORMS[0]})"
rm -rf "$OUT.tmp"
mkdir -p "$OUT.tmp/wheels" "$OUT.tmp/project" "$OUT.tmp/images" \
    "$OUT.tmp/projects"

# Requirements not covered by the lists above are carried too (reported).
EXTRA=$("$PY" - "$PROVIDED $SKIPPED" "${CARRIED[@]}" <<'EOF'
import re
import sys

known = {n.lower() for n in sys.argv[1].split()}
known |= {re.split('[=<>!~]', c)[0].lower() for c in sys.argv[2:]}
extra = []
for fname in ('requirements/runtime.txt', 'requirements/mminstall.txt',
              'requirements/optional.txt'):
    for line in open(fname):
        req = line.split('#', 1)[0].strip()
        if not req or req.startswith('-r'):
            continue
        name = re.split('[=<>!~ ;\\[]', req)[0].lower().replace('_', '-')
        if name not in known:
            extra.append(req)
print(' '.join(extra))
EOF
)
if [[ -n "$EXTRA" ]]; then
    echo "[bundle] NOTE: carrying requirements that make_gpu_bundle.sh does" \
        "not list yet (add them, with their own dependencies): $EXTRA"
fi

PLATFORM_ARGS=()
for p in "${PLATFORMS[@]}"; do PLATFORM_ARGS+=(--platform "$p"); done
# shellcheck disable=SC2086
"$PY" -m pip download --quiet --no-deps --only-binary=:all: \
    --python-version "$PY_VERSION" --implementation cp "${PLATFORM_ARGS[@]}" \
    --dest "$OUT.tmp/wheels" "${CARRIED[@]}" $EXTRA

# mmselfemd's wheel, from a copy of the files that git tracks or would
# track (the working tree as the device tool sends it), so that building
# does not touch the checkout's editable install (its .mim links).
SRC=$(mktemp -d)
trap 'rm -rf "$SRC"' EXIT
git ls-files -z --cached --others --exclude-standard |
    (while IFS= read -r -d '' f; do [[ -e "$f" ]] && printf '%s\0' "$f";
     done) | tar --null -T - -cf - | tar -xf - -C "$SRC"
"$PY" -m pip wheel --quiet --no-deps --no-build-isolation \
    --wheel-dir "$OUT.tmp/project" "$SRC" >/dev/null

# The check's code: projects/gpu_check and every project it imports
# (found from its "projects.NAME" imports, transitively), sources only.
PROJECTS=$("$PY" - <<'EOF'
import glob
import os.path as osp
import re

todo, seen = ['gpu_check'], set()
while todo:
    name = todo.pop()
    if name in seen:
        continue
    seen.add(name)
    for path in glob.glob(f'projects/{name}/**/*.py', recursive=True):
        if '/tests/' in path:
            continue
        with open(path) as f:
            todo += [n for n in re.findall(r'\bprojects\.(\w+)', f.read())
                     if osp.isdir(f'projects/{n}')]
print(' '.join(sorted(seen)))
EOF
)
for name in $PROJECTS; do
    find "projects/$name" -name tests -prune -o \( -name '*.py' -o \
        -name '*.sh' -o -name README.md \) -print |
        tar -cf - -T - | tar -xf - -C "$OUT.tmp"
done
if [[ -f projects/__init__.py ]]; then
    cp projects/__init__.py "$OUT.tmp/projects/"
fi

"$PY" projects/gpu_check/tools/gpu_check.py \
    --prepare-images "$OUT.tmp/images" --num-images 64

# Check: only cpXY / pure-Python wheels for manylinux x86_64.
"$PY" - "$OUT.tmp" "$CP" <<'EOF'
import os
import sys

root, cp = sys.argv[1], sys.argv[2]
bad = []
for sub in ('wheels', 'project'):
    for name in sorted(os.listdir(os.path.join(root, sub))):
        if not name.endswith('.whl'):
            bad.append(f'{sub}/{name} (not a wheel)')
            continue
        _, _, py, abi, plat = name[:-4].rsplit('-', 4)
        pure = abi == 'none' and plat == 'any' and any(
            t in ('py3', 'py2.py3') or t.startswith('py3')
            for t in py.split('.'))
        binary = cp in py.split('.') and abi in (cp, 'abi3') \
            and all(p.startswith('manylinux') and p.endswith('x86_64')
                    for p in plat.split('.'))
        if not (pure or binary):
            bad.append(f'{sub}/{name}')
if bad:
    sys.exit(f'make_gpu_bundle.sh: wheels that a {cp} manylinux x86_64 '
             'machine cannot install: ' + ', '.join(bad))
EOF

{
    echo "# GPU check bundle: built $(date -u +%Y-%m-%dT%H:%M:%SZ) for" \
        "Python $PY_VERSION, ${PLATFORMS[*]}"
    echo "# git $(git rev-parse HEAD)$(git diff --quiet HEAD -- . 2>/dev/null \
        || echo ' + uncommitted changes')"
    echo "# size sha256 path"
    (cd "$OUT.tmp" && find . -type f ! -name MANIFEST.txt | sort |
        while read -r f; do
            echo "$(stat -c %s "$f") $(sha256sum "$f" | cut -c1-64) ${f#./}"
        done)
} > "$OUT.tmp/MANIFEST.txt"

SIZE_KB=$(du -sk "$OUT.tmp" | cut -f1)
if (( SIZE_KB > MAX_MB * 1024 )); then
    echo "make_gpu_bundle.sh: the bundle is $((SIZE_KB / 1024)) MB, over" \
        "the ${MAX_MB} MB limit; see $OUT.tmp/MANIFEST.txt" >&2
    exit 1
fi
rm -rf "$OUT"
mv "$OUT.tmp" "$OUT"
echo "[bundle] $(ls "$OUT/wheels" | wc -l) wheels, $(ls "$OUT/project")," \
    "projects/{${PROJECTS// /,}}, $(ls "$OUT/images" | wc -l) images;" \
    "$((SIZE_KB / 1024)) MB in $OUT"

if [[ -n "$VERIFY" ]]; then
    CHECK=$(mktemp -d)
    echo "[bundle] verify: offline install for $VERIFY, then the env" \
        "section of the bundle's copy of the check (no checkout on the path)"
    "$VERIFY" -m pip install --quiet --no-index --no-deps --no-compile \
        --target "$CHECK/site" "$OUT"/wheels/*.whl "$OUT"/project/*.whl
    if ! (cd "$CHECK" && PYTHONPATH="$CHECK/site" "$VERIFY" \
            "$OUT/projects/gpu_check/tools/gpu_check.py" --device cpu \
            --sections env --out-dir "$CHECK/out" >"$CHECK/log" 2>&1); then
        grep -o 'env: failed.*' "$CHECK/log" >&2 || tail -5 "$CHECK/log" >&2
        echo "make_gpu_bundle.sh: the bundle does not cover the" \
            "pretraining path for $VERIFY (log: $CHECK/log)" >&2
        exit 1
    fi
    rm -rf "$CHECK"
    echo "[bundle] verify: ok"
fi
