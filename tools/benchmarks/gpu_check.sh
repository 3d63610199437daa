#!/usr/bin/env bash
# make gpu-check: zerovl on a GPU in one command, nothing downloaded. The test suite with the GPU visible,
# ZeroVL's full recipe killed mid-epoch and resumed through dist_train.sh, the train-step rows (samples/s,
# MFU, open_clip with its defaults and its best flags), the fp16/bf16 DGA gradient agreement and the data
# pipeline's samples/s per core; one JSON +
# markdown report, rewritten after every part (docs/benchmarks.md). GPU_CHECK_TIMEOUT (default 480 s)
# bounds the whole run: the speed part alone needs most of it, so run it on its own (docs/benchmarks.md).
#   bash tools/benchmarks/gpu_check.sh [--report-dir work_dirs/gpu_check] [--parts suite e2e speed agreement pipeline]
# Needs a CUDA GPU and the repository's environment (make install); without a GPU it says so and exits 2.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python )}
if ! "$PYTHON" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    echo "gpu-check: no CUDA GPU is visible here (torch.cuda.is_available() is False); it checks zerovl on a" \
         "GPU, so there is nothing to run on this machine" >&2
    exit 2
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
export PYTHON
exec timeout "${GPU_CHECK_TIMEOUT:-480}" "$PYTHON" tools/benchmarks/gpu_check.py --device cuda "$@"
