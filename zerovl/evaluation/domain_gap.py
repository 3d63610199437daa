"""How strongly the embedding space separates the evaluation datasets (domains): the analogue of ZeroVL's
Fig. 3, where randomly sampled batches leave domain-biased features and debiased batches do not.

A shuffled batch mixes domains, so most negatives can be rejected by the domain cue alone; a model trained
that way is rewarded for pushing the domains apart. With single-domain batches the cue is worthless.
"""
import itertools
from typing import Any, Dict, List, Sequence

import torch
from mmengine.evaluator import BaseMetric

from zerovl.registry import METRICS
from .pair_records import dedupe_images, group_by_dataset, pair_record


def mean_pairwise_cosine(a: torch.Tensor, b: torch.Tensor, same: bool) -> float:
    """Mean cosine over pairs of unit rows, one from ``a`` and one from ``b`` (distinct rows when ``same``),
    from the row sums: ``sum_ij a_i·b_j = (sum_i a_i)·(sum_j b_j)``, so no N×N matrix is formed."""
    total = float(a.sum(0) @ b.sum(0))
    if same:
        n = a.shape[0]
        if n < 2:
            raise ValueError('a domain needs at least two embeddings for a within-domain similarity')
        return (total - float((a * a).sum())) / (n * (n - 1))
    return total / (a.shape[0] * b.shape[0])


def domain_gap(groups: Sequence[torch.Tensor]) -> float:
    """Mean within-domain cosine minus mean cross-domain cosine, averaged over domains / domain pairs.
    0 when the domains are mixed as well as their members; up to 2 when they sit at opposite poles."""
    within = sum(mean_pairwise_cosine(g, g, same=True) for g in groups) / len(groups)
    pairs = list(itertools.combinations(groups, 2))
    across = sum(mean_pairwise_cosine(a, b, same=False) for a, b in pairs) / len(pairs)
    return within - across


def nearest_centroid_accuracy(groups: Sequence[torch.Tensor]) -> float:
    """Percent of held-out embeddings (odd rows) closest in cosine to their own domain's centroid, the
    centroids taken from the even rows: a linear probe that needs no training."""
    centroids = torch.stack([torch.nn.functional.normalize(g[0::2].mean(0), dim=0) for g in groups])
    correct = total = 0
    for label, group in enumerate(groups):
        held_out = group[1::2]
        correct += int(((held_out @ centroids.t()).argmax(1) == label).sum())
        total += held_out.shape[0]
    return 100.0 * correct / total


@METRICS.register_module()
class DomainGapMetric(BaseMetric):
    """``domain_gap/{image,text}`` and ``domain_probe/{image,text}_acc`` over the evaluation datasets.

    Takes the same predictions as :class:`RetrievalMetric` (L2-normalised ``image_embed``/``text_embed``,
    ``image_id``, ``dataset_name``), one image row per ``image_id``, and needs at least two datasets.
    Distributed evaluation gathers the records exactly as RetrievalMetric does.
    """

    default_prefix = ''

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        self.results.extend(pair_record(sample) for sample in data_samples)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        groups = group_by_dataset(results)
        if len(groups) < 2:
            raise ValueError(f'DomainGapMetric needs at least two evaluation datasets, got {list(groups)}')
        images, texts = [], []
        for records in groups.values():
            image_embeds, text_embeds, _ = dedupe_images(records)
            images.append(image_embeds.double())
            texts.append(text_embeds.double())
        return {'domain_gap/image': domain_gap(images), 'domain_gap/text': domain_gap(texts),
                'domain_probe/image_acc': nearest_centroid_accuracy(images),
                'domain_probe/text_acc': nearest_centroid_accuracy(texts)}
