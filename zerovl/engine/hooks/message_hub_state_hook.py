"""Stores the message hub in checkpoints as plain data, so checkpoints load with ``weights_only=True``."""
import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer

from zerovl.registry import HOOKS

BUFFER_TAG = '__history_buffer__'


def _plain(value):
    """numpy scalars/arrays -> Python numbers/tensors; containers recursively; everything else as is."""
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value.copy())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return type(value)((k, _plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value


def buffer_to_plain(buffer: HistoryBuffer) -> dict:
    log, count = buffer.data
    return {BUFFER_TAG: True, 'log_history': torch.from_numpy(np.asarray(log, dtype=np.float64)),
            'count_history': torch.from_numpy(np.asarray(count, dtype=np.float64)),
            'max_length': buffer.max_length}


def host_array(values) -> np.ndarray:
    """A saved history as a numpy array, wherever its tensor was loaded: ``Runner.resume`` loads
    checkpoints onto the training device, and a CUDA tensor has no ``.numpy()``."""
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().numpy()
    return np.asarray(values)


def plain_to_buffer(state: dict) -> HistoryBuffer:
    return HistoryBuffer(host_array(state['log_history']), host_array(state['count_history']),
                         int(state['max_length']))


@HOOKS.register_module()
class MessageHubStateHook(Hook):
    """Flattens the message hub's ``HistoryBuffer`` objects into tensors before a checkpoint is saved and
    rebuilds them after one is loaded (``Runner.resume`` reads the message hub after this hook ran)."""

    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        hub = checkpoint.get('message_hub')
        if hub is None:
            return
        scalars = {key: buffer_to_plain(buf) if isinstance(buf, HistoryBuffer) else _plain(buf)
                   for key, buf in hub['log_scalars'].items()}
        checkpoint['message_hub'] = dict(hub, log_scalars=scalars, runtime_info=_plain(hub['runtime_info']))
        checkpoint['meta'] = _plain(checkpoint.get('meta', {}))

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        hub = checkpoint.get('message_hub')
        if hub is None:
            return
        hub['log_scalars'] = {key: plain_to_buffer(value) if isinstance(value, dict) and value.get(BUFFER_TAG)
                              else value for key, value in hub['log_scalars'].items()}
