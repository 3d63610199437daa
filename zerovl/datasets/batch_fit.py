"""Does one global training batch fit in the training data? Asked before the model is built.

The batch sampler finds out too, but only once the Runner has built the model (loading pre-trained
towers can take minutes) and starts the first epoch. Counting annotation rows up to one global batch
is enough to know, and stays cheap on a 14M-row CSV: reading stops as soon as the batch is covered.
"""
import itertools
import os.path as osp
from typing import Optional

from .annotation_csv import read_annotation_rows


class BatchLargerThanDataError(ValueError):
    """The global training batch holds more samples than the training data."""


def count_rows_up_to(dataset_cfg: dict, limit: int) -> Optional[int]:
    """Rows of the training dataset ``dataset_cfg`` describes, counted up to ``limit``; None when the
    dataset is not one whose rows can be counted without building it (anything but annotation CSVs)."""
    if dataset_cfg.get('type') == 'ConcatDataset':
        total = 0
        for part in dataset_cfg.get('datasets', []):
            rows = count_rows_up_to(part, limit - total)
            if rows is None:
                return None
            total += rows
            if total >= limit:
                break
        return total
    if dataset_cfg.get('type') != 'ImageTextDataset' or dataset_cfg.get('source', 'files') != 'files':
        return None
    if dataset_cfg.get('indices') is not None:  # a subset: its size is not the file's
        return None
    name, split = dataset_cfg['name'], dataset_cfg.get('split', 'train')
    ann_file = osp.join(dataset_cfg['data_root'], dataset_cfg.get('ann_file') or osp.join(name, f'{split}_anno.csv'))
    if not osp.isfile(ann_file):
        return None  # the dataset itself reports the missing file, naming it
    return sum(1 for _ in itertools.islice(read_annotation_rows(ann_file), max(limit, 0)))


def check_batch_fits(train_dataloader: dict, world_size: int = 1) -> None:
    """Raise :class:`BatchLargerThanDataError` when ``batch_size x world_size`` exceeds the training rows."""
    batch_size = train_dataloader.get('batch_size')
    if not isinstance(batch_size, int):
        return
    global_batch = batch_size * world_size
    rows = count_rows_up_to(train_dataloader.get('dataset', {}), global_batch)
    if rows is not None and rows < global_batch:
        per_rank = f' ({batch_size} per process x {world_size} processes)' if world_size > 1 else ''
        raise BatchLargerThanDataError(
            f'train_dataloader.batch_size: one global batch of {global_batch} samples{per_rank} is more than the '
            f'{rows} training rows of {describe(train_dataloader["dataset"])}; set a batch size of at most '
            f'{max(rows // world_size, 1)} (custom_data.batch_size=N or train_dataloader.batch_size=N)')


def describe(dataset_cfg: dict) -> str:
    """The annotation files of a dataset config, for messages."""
    parts = dataset_cfg.get('datasets', [dataset_cfg])
    return ', '.join(osp.join(part.get('data_root', ''), part.get('ann_file') or
                              osp.join(part.get('name', '?'), f"{part.get('split', 'train')}_anno.csv"))
                     for part in parts)
