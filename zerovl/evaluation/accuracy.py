"""Top-k classification accuracy per dataset, for linear probing and zero-shot classification.

A prediction is one dict per image with ``pred_score`` (a (C,) tensor of class scores: probabilities or
logits, only their order matters), ``gt_label`` (int) and ``dataset_name``. The metric returns
``{dataset_name}/top{k}`` in percent for each dataset and each k.

Ties are counted pessimistically, as in :mod:`zerovl.evaluation.retrieval`: an image's rank is the number
of *other* classes scoring >= its true class, and it counts as correct at k when that rank is < k. A
sort-based top-k would break ties by index order, so the number would depend on how the classes are
numbered; counting ties against the model makes it deterministic, and a collapsed model that scores all
classes equally gets 0 instead of 100 / C or more.
"""
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from zerovl.registry import METRICS

PREDICTION_KEYS = ('pred_score', 'gt_label', 'dataset_name')


def check_topk(topk: Sequence[int]) -> Tuple[int, ...]:
    if isinstance(topk, int):
        topk = (topk,)
    topk = tuple(topk)
    if not topk or any(isinstance(k, bool) or not isinstance(k, int) or k < 1 for k in topk):
        raise ValueError(f'ClassificationAccuracy: topk must be positive ints, got {topk!r}')
    return topk


def true_class_ranks(scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """(N,) number of other classes scoring >= each sample's true class (0 = ranked first, ties lost)."""
    true_scores = scores.gather(1, labels[:, None])
    # The true class always satisfies `>=` against itself; the rest are the (pessimistic) competitors.
    return (scores >= true_scores).sum(dim=1) - 1


def topk_accuracy(scores: torch.Tensor, labels: torch.Tensor, topk: Sequence[int] = (1, 5),
                  where: str = 'ClassificationAccuracy') -> Dict[str, float]:
    """``{'top1': ..., 'top5': ...}`` in percent for (N, C) ``scores`` and (N,) integer ``labels``."""
    topk = check_topk(topk)
    if scores.dim() != 2 or labels.shape != scores.shape[:1]:
        raise ValueError(f'{where}: scores must be (N, C) and labels (N,), got {tuple(scores.shape)} and '
                         f'{tuple(labels.shape)}')
    num_classes = scores.shape[1]
    too_large = [k for k in topk if k > num_classes]
    if too_large:
        # Top-k over fewer than k classes is always 100 %: a number that looks like a result but is not.
        raise ValueError(f'{where}: topk {too_large} exceeds the {num_classes} classes of the scores; '
                         f'set topk=({", ".join(str(k) for k in topk if k <= num_classes) or "1"},)')
    if not torch.isfinite(scores).all():
        # A NaN compares false with everything, so it would silently count as a hit.
        raise ValueError(f'{where}: scores contain NaN or inf')
    labels = labels.long()
    if ((labels < 0) | (labels >= num_classes)).any():
        bad = labels[(labels < 0) | (labels >= num_classes)][:10].tolist()
        raise ValueError(f'{where}: labels {bad} outside 0..{num_classes - 1}')
    if scores.dtype in (torch.float16, torch.bfloat16):
        scores = scores.float()  # exact: every half value is a float32 value; CPU half ops are slow
    ranks = true_class_ranks(scores, labels)
    # Integer count divided in Python: the same float for the same hits, whatever the device.
    return {f'top{k}': 100.0 * int((ranks < k).sum()) / len(labels) for k in topk}


def _label(value: Any) -> int:
    if isinstance(value, (torch.Tensor, np.ndarray, np.generic)) and np.ndim(value) == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f'ClassificationAccuracy: gt_label must be an int class index, got {value!r}')
    return int(value)


def _record(sample: dict) -> dict:
    missing = [key for key in PREDICTION_KEYS if key not in sample]
    if missing:
        raise KeyError(f'ClassificationAccuracy: a prediction lacks {missing}; it needs {list(PREDICTION_KEYS)}')
    score = torch.as_tensor(sample['pred_score'])
    if score.dim() != 1:
        raise ValueError(f'ClassificationAccuracy: pred_score must be a (C,) tensor per sample, got shape '
                         f'{tuple(score.shape)}')
    # clone(): a row view would keep the model's whole batch tensor alive, and pickling it for
    # collect_results would write the whole batch's storage.
    return dict(pred_score=score.detach().cpu().clone(), gt_label=_label(sample['gt_label']),
                dataset_name=str(sample['dataset_name']))


@METRICS.register_module()
class ClassificationAccuracy(BaseMetric):
    """Top-k accuracy in percent per evaluation dataset, keyed ``{dataset_name}/top{k}``.

    Args:
        topk: the k's to report; each must be at most the number of classes.
        collect_device, prefix, collect_dir: as for ``mmengine.evaluator.BaseMetric``. ``default_prefix``
            is '' so keys are exactly ``{dataset_name}/top{k}`` (see ``RetrievalMetric`` for the rule).

    ``process`` appends one record per prediction, never one per batch: in distributed evaluation
    ``collect_results`` interleaves the ranks' lists back into dataset order and cuts them to the dataset
    size, which removes the sampler's padding only when every entry is one sample (the reasoning is in
    the docstring of :class:`zerovl.evaluation.RetrievalMetric`).
    """

    default_prefix: Optional[str] = ''

    def __init__(self, topk: Sequence[int] = (1, 5), collect_device: str = 'cpu', prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        self.topk = check_topk(topk)

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        self.results.extend(_record(sample) for sample in data_samples)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        if not results:
            raise ValueError('ClassificationAccuracy received no predictions to evaluate')
        groups: Dict[str, List[dict]] = {}  # first-appearance order: stable key order in logs
        for record in results:
            groups.setdefault(record['dataset_name'], []).append(record)
        metrics: Dict[str, float] = {}
        for dataset_name, records in groups.items():
            widths = {record['pred_score'].shape[0] for record in records}
            if len(widths) != 1:
                raise ValueError(f"ClassificationAccuracy: predictions of '{dataset_name}' have different "
                                 f'numbers of classes {sorted(widths)}')
            scores = torch.stack([record['pred_score'] for record in records])
            labels = torch.tensor([record['gt_label'] for record in records], dtype=torch.long)
            where = f"ClassificationAccuracy on '{dataset_name}'"
            accuracy = topk_accuracy(scores, labels, self.topk, where=where)
            metrics.update({f'{dataset_name}/{name}': value for name, value in accuracy.items()})
        return metrics
