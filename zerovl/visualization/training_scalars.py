"""The scalars a run logged, read back from its work dir for curves (tools/analysis_tools/plot_curves.py).

MMEngine's LocalVisBackend appends one JSON object per logging step to
``{work_dir}/{timestamp}/vis_data/scalars.json``: training lines carry ``iter`` (and ``epoch``) next to
``loss``, ``lr``, ``temperature``...; validation lines carry the metrics and a ``step`` that is the epoch
in epoch-based runs. A resumed run writes a new timestamp folder that continues the iterations, so the
folders are read oldest first and a later value at the same iteration replaces an earlier one.
"""
import glob
import json
import os.path as osp
from typing import Dict, List, Tuple

# Bookkeeping, not curves.
NOT_CURVES = frozenset(('epoch', 'iter', 'step', 'time', 'data_time', 'memory'))

Series = Dict[str, List[Tuple[int, float]]]


def scalar_files(work_dir: str) -> List[str]:
    """Every ``scalars.json`` of ``work_dir`` (a file given directly is the only one), oldest run first."""
    if osp.isfile(work_dir):
        return [work_dir]
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(f'no {osp.join("<timestamp>", "vis_data", "scalars.json")} under '
                                f'{osp.abspath(work_dir)}: is it the work dir of a run that logged at least once?')
    return files


def read_scalars(work_dir: str) -> Tuple[Series, Series]:
    """``(train, val)``: for every logged key, its ``(iteration, value)`` points in iteration order.

    Validation points are placed at the last training iteration of their epoch when the run is
    epoch-based, so both share one axis."""
    train: Dict[str, Dict[int, float]] = {}
    val: Dict[str, Dict[int, float]] = {}
    for path in scalar_files(work_dir):
        last_iter_of_epoch: Dict[int, int] = {}
        with open(path) as f:
            records = [json.loads(line) for line in f if line.strip()]
        for record in records:
            if 'iter' in record and 'epoch' in record:
                last_iter_of_epoch[record['epoch']] = max(record['iter'], last_iter_of_epoch.get(record['epoch'], 0))
        for record in records:
            is_train = 'iter' in record
            step = record['iter'] if is_train else last_iter_of_epoch.get(record.get('step'), record.get('step', 0))
            for key, value in record.items():
                if key not in NOT_CURVES and isinstance(value, (int, float)):
                    (train if is_train else val).setdefault(key, {})[int(step)] = float(value)
    return ({key: sorted(points.items()) for key, points in train.items()},
            {key: sorted(points.items()) for key, points in val.items()})
