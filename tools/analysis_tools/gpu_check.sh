#!/usr/bin/env bash
# The GPU check in one command, at most 8 minutes: ZeroVL's full model (ViT-B/16 + BERT-base, random
# init) with AMP fp16 and DGA: samples/s, peak memory, and DGA-vs-whole-batch gradient agreement in fp16.
#   bash tools/analysis_tools/gpu_check.sh [--batch-size 512 --sub-batches 8 --out gpu_check.json]
# Needs a CUDA GPU and the repository's environment (make install); nothing is downloaded.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python )}
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
exec timeout "${GPU_CHECK_TIMEOUT:-480}" "$PYTHON" tools/analysis_tools/gpu_check.py --device cuda "$@"
