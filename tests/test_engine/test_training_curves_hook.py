"""TrainingCurvesHook records exactly the losses the Runner saw, and every validation."""
import json
import math
from pathlib import Path

from mmengine.runner import Runner

from zerovl.testing.tiny_config import tiny_demo_config
from zerovl.utils import register_all_modules


def test_curves_hold_every_step_loss_and_each_validation(synthetic_root, short_work_dir, one_thread):
    register_all_modules()
    cfg = tiny_demo_config(synthetic_root, short_work_dir, max_epochs=2)
    cfg.train_cfg.val_interval = 1
    cfg.default_hooks.checkpoint = None
    cfg.custom_hooks = list(cfg.custom_hooks) + [dict(type='TrainingCurvesHook', file_name='curves.json')]
    runner = Runner.from_cfg(cfg)
    runner.train()

    curves = json.loads((Path(short_work_dir) / 'curves.json').read_text())
    steps = [step for step, _ in curves['loss']]
    assert steps == list(range(1, runner.iter + 1))
    # The message hub keeps each step's loss as the model returned it; the curve must be those values.
    logged = runner.message_hub.get_scalar('train/loss').data[0]
    assert [loss for _, loss in curves['loss']] == [float(v) for v in logged]
    assert all(math.isfinite(loss) for _, loss in curves['loss'])

    per_epoch = runner.iter // 2
    assert [step for step, _ in curves['val']] == [per_epoch, 2 * per_epoch]
    for _, metrics in curves['val']:
        assert {'synth_a/rsum', 'synth_b/rsum', 'mean_rsum'} <= set(metrics)
