"""Checks and fixes made when a train loop is built: model and dataloader exist, no batch is read yet.

A mistake found here costs seconds; found at the first step it costs the data loading before it, and a
schedule that stalls is not found at all (the run ends with exit 0 at a learning rate it never meant).
"""
from typing import Mapping, Optional

from mmengine.model import is_model_wrapper

from .schedules import RunLength, settle_param_schedulers


def configured_batch_size(cfg) -> Optional[int]:
    """``train_dataloader.batch_size`` of the run's config, or its dataset's ``batch_size`` when the
    dataset batches itself (a shard dataset, ``batch_size=None`` in the loader); None for a DataLoader
    handed to the Runner as an object (its items may be whole pre-collated batches:
    tools/benchmarks/benchmark_train.py)."""
    loader = cfg.get('train_dataloader') if cfg is not None else None
    if not isinstance(loader, Mapping):
        return None
    batch_size = loader.get('batch_size')
    dataset = loader.get('dataset')
    if batch_size is None and isinstance(dataset, Mapping):
        batch_size = dataset.get('batch_size')
    return batch_size if isinstance(batch_size, int) else None


def check_dga_divides_batch(model, batch_size: Optional[int]) -> None:
    """``model.dga.sub_batch_size`` must split ``train_dataloader.batch_size`` into whole sub-batches."""
    model = model.module if is_model_wrapper(model) else model
    dga = getattr(model, 'dga', None)
    if not isinstance(dga, dict) or not batch_size:
        return
    sub_batch_size = dga['sub_batch_size']
    if batch_size % sub_batch_size:
        raise ValueError(f'model.dga.sub_batch_size={sub_batch_size} does not divide train_dataloader.batch_size='
                         f'{batch_size} (per GPU): every step splits the batch into whole sub-batches')


def prepare_training(loop) -> None:
    """Called by zerovl's train loops at the end of their constructor."""
    check_dga_divides_batch(loop.runner.model, configured_batch_size(loop.runner.cfg))
    settle_param_schedulers(loop.runner, RunLength(iters=loop.max_iters, epoch_length=len(loop.dataloader)))
