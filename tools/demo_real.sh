#!/usr/bin/env bash
# The real-weights demo (make demo-real; docs/real_demo.md): EfficientNet-Lite0 + all-MiniLM-L6-v2 fine-tuned
# with ZeroVL's recipe on the emoji pairs, evaluated before and after on held-out emoji retrieval, zero-shot
# Fashion-MNIST and a Fashion-MNIST linear probe, plus a retrieval picture. Needs `make real-assets`.
#   bash tools/demo_real.sh            (PY, WORK, FASHION_MNIST may be set in the environment)
set -euo pipefail
PY=${PY:-python}
WORK=${WORK:-work_dirs/zerovl_emoji_lite0_minilm}
FASHION_MNIST=${FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
CFG=configs/real/zerovl_emoji_lite0_minilm.py
ZS_CFG=configs/zero_shot/zerovl_emoji_fashion_mnist.py
LP_CFG=configs/linear_probe/zerovl_emoji_lite0_fashion_mnist.py
EPOCHS=$("$PY" -c "from mmengine import Config; print(Config.fromfile('$CFG').train_cfg.max_epochs)")
LP_EPOCHS=$("$PY" -c "from mmengine import Config; print(Config.fromfile('$LP_CFG').train_cfg.max_epochs)")
CKPT=$WORK/epoch_$EPOCHS.pth
mkdir -p "$WORK"
: > "$WORK/timings.tsv"

# step NAME COMMAND...: run it and record its wall-clock seconds.
step() {
    local name=$1 start=$SECONDS
    shift
    echo "== $name: $*"
    "$@"
    printf '%s\t%s\n' "$name" "$((SECONDS - start))" >> "$WORK/timings.tsv"
}

step "retrieval before" "$PY" tools/test.py "$CFG" --work-dir "$WORK/eval_before" --no-progress \
    --out "$WORK/retrieval_before.json"
# --overwrite: a second run of the demo trains afresh (the earlier checkpoints go to WORK/overwritten/).
step "fine-tune ($EPOCHS epochs)" "$PY" tools/train.py "$CFG" --work-dir "$WORK" --overwrite
step "retrieval after" "$PY" tools/test.py "$CFG" "$CKPT" --work-dir "$WORK/eval_after" --no-progress \
    --out "$WORK/retrieval_after.json"
step "retrieval picture" "$PY" tools/visualization/visualize_retrieval.py "$CFG" "$CKPT" --topk 5 \
    --query "red heart" --query "cat face" --query "national flag" --query "smiling face" --out "$WORK/retrieval.png"

if [ -d "$FASHION_MNIST" ]; then
    step "zero-shot before" "$PY" tools/test.py "$ZS_CFG" --work-dir "$WORK/zero_shot_before" --no-progress \
        --out "$WORK/zero_shot_before.json"
    step "zero-shot after" "$PY" tools/test.py "$ZS_CFG" "$CKPT" --work-dir "$WORK/zero_shot_after" --no-progress \
        --out "$WORK/zero_shot_after.json"
    for stage in before after; do
        if [ $stage = before ]; then source_ckpt=None; else source_ckpt=$CKPT; fi
        step "linear probe $stage" "$PY" tools/train.py "$LP_CFG" --work-dir "$WORK/linear_probe_$stage" --overwrite \
            --cfg-options model.pretrained.checkpoint="$source_ckpt"
        "$PY" tools/test.py "$LP_CFG" "$WORK/linear_probe_$stage/epoch_$LP_EPOCHS.pth" --no-progress \
            --work-dir "$WORK/linear_probe_$stage" --cfg-options model.pretrained.checkpoint="$source_ckpt" \
            --out "$WORK/linear_probe_$stage.json"
    done
else
    echo "skipped: zero-shot and linear probe on Fashion-MNIST need $FASHION_MNIST" \
         "(Debian: apt-get install dataset-fashion-mnist, as root)"
fi

"$PY" - "$WORK" <<'PYEOF'
import json, sys
from pathlib import Path
work = Path(sys.argv[1])
rows = [line.split('\t') for line in (work / 'timings.tsv').read_text().splitlines() if line]
timings = {name: float(seconds) for name, seconds in rows}
timings['total'] = sum(timings.values())
(work / 'timings.json').write_text(json.dumps(timings, indent=1) + '\n')
PYEOF
"$PY" tools/analysis_tools/real_demo_report.py "$WORK"
