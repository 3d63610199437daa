"""Records the training loss of every iteration and every validation result, for curves and ablation tables."""
import json
from pathlib import Path
from typing import Dict, List, Optional

from mmengine.hooks import Hook

from zerovl.registry import HOOKS
from zerovl.utils.atomic_file import write_text_atomically
from zerovl.utils.dist import get_rank


@HOOKS.register_module()
class TrainingCurvesHook(Hook):
    """Writes ``{work_dir}/{file_name}``: ``{"loss": [[iter, loss], ...], "val": [[iter, {metric: value}], ...]}``.

    The loss is the value the model returned for the whole step (with DGA, the loss of the full batch), so
    runs with different sub-batching compare directly. Rewritten after every validation and at the end,
    so an interrupted run keeps the curve so far. A non-finite loss is recorded as it is (``NaN`` in the
    JSON, which Python's json reads back) rather than dropped: a diverging arm must show in its curve.
    """

    priority = 'LOW'

    def __init__(self, file_name: str = 'curves.json'):
        self.file_name = file_name
        self.loss: List[list] = []
        self.val: List[list] = []

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs: Optional[Dict] = None) -> None:
        if outputs is not None and 'loss' in outputs:
            self.loss.append([runner.iter + 1, float(outputs['loss'])])

    def after_val_epoch(self, runner, metrics: Optional[Dict[str, float]] = None) -> None:
        self.val.append([runner.iter, {key: float(value) for key, value in (metrics or {}).items()}])
        self._write(runner)

    def after_run(self, runner) -> None:
        self._write(runner)

    def _write(self, runner) -> None:
        if get_rank() != 0:
            return
        text = json.dumps({'loss': self.loss, 'val': self.val})
        write_text_atomically(str(Path(runner.work_dir) / self.file_name), text)
