#!/usr/bin/env bash
# Detection transfer benchmark on Slurm:
#   pretraining checkpoint -> extracted backbone -> MMDetection fine-tuning
#   -> COCO evaluation of the last checkpoint.
#
#   bash tools/benchmarks/mmdetection/slurm_train_fpn.sh PARTITION CONFIG \
#       PRETRAIN [train.py args ...]
#
# Env: WORK_DIR (default work_dirs/benchmarks/mmdetection/<config>/<ckpt>),
# CFG_OPTIONS (space-separated key=value config overrides given to both the
# fine-tuning and the test, e.g. data roots),
# JOB_NAME (default the config name), PYTHON, and slurm_train.sh's GPUS,
# GPUS_PER_NODE, CPUS_PER_TASK, SRUN_ARGS.
set -euo pipefail

if [ $# -lt 3 ]; then
    echo "usage: $0 PARTITION CONFIG PRETRAIN [train.py args ...]" >&2
    exit 1
fi
PARTITION=$1
CFG=$2
PRETRAIN=$3
TOOLS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# sets and exports PYTHON (the project's .venv/ when not activated)
# shellcheck source=../../find_python.sh
source "${TOOLS_DIR}/find_python.sh"
CFG_NAME=$(basename "${CFG}" .py)
CKPT_NAME=$(basename "${PRETRAIN}")
CKPT_NAME=${CKPT_NAME%.*}
JOB_NAME=${JOB_NAME:-"${CFG_NAME}"}
WORK_DIR=${WORK_DIR:-"work_dirs/benchmarks/mmdetection/${CFG_NAME}/${CKPT_NAME}"}
mkdir -p "${WORK_DIR}"
read -r -a EXTRA <<< "${CFG_OPTIONS:-}"

echo "[1/3] extracting the online backbone of ${PRETRAIN}"
"${PYTHON}" "${TOOLS_DIR}/model_converters/extract_backbone_weights.py" \
    "${PRETRAIN}" "${WORK_DIR}/backbone.pth"

echo "[2/3] fine-tuning ${CFG_NAME} from ${WORK_DIR}/backbone.pth"
# The extracted file has no "backbone." prefix, hence prefix=None.
bash "${TOOLS_DIR}/slurm_train.sh" "${PARTITION}" "${JOB_NAME}" "${CFG}" \
    "${WORK_DIR}" \
    --cfg-options model.backbone.init_cfg.checkpoint="${WORK_DIR}/backbone.pth" \
    model.backbone.init_cfg.prefix=None ${EXTRA[@]+"${EXTRA[@]}"} \
    "${@:4}"

LAST=$(cat "${WORK_DIR}/last_checkpoint")
echo "[3/3] testing ${LAST}"
bash "${TOOLS_DIR}/slurm_test.sh" "${PARTITION}" "${JOB_NAME}-test" "${CFG}" \
    "${LAST}" --work-dir "${WORK_DIR}/test" \
    ${EXTRA[@]+--cfg-options "${EXTRA[@]}"}
