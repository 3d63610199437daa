"""Exact image-text retrieval recall, ZeroVL's zero-shot protocol (docs/method.md §2.8).

Similarity is the dot product of the embeddings (the model L2-normalises them, so it is the cosine).

* **T→I**: a caption's query is answered by its one image. Its rank is the number of *other* images whose
  score is >= the true image's score; R@K counts the captions with rank < K.
* **I→T**: an image has several correct captions and counts as retrieved at K when *any* of them is in the
  top K. Its rank is the number of captions that are *not* its own and score >= its best own caption;
  R@K counts the images with rank < K.
* **RSUM** is the sum of the six recalls in percent (max 600).

Ties are counted pessimistically (a competitor with an equal score is ranked ahead of the true match).
A sort-based ranking breaks ties by whatever order the sort leaves, so the number would depend on the
index order; counting ties against the model makes it deterministic, and a collapsed model whose
embeddings are all equal scores about 0 instead of 100.

The ranks are computed exactly, without sorting: a rank is a count of comparisons against one score,
done for ``chunk_size`` queries at a time, so memory is O(chunk_size x N) and the full N_img x N_txt
similarity matrix never exists; the result does not depend on ``chunk_size``.

:func:`retrieval_metrics` computes each score once (one matmul's worth of work for both directions):
it scans the captions chunk by chunk against all images. A caption's T→I rank is complete within its
chunk. An image's I→T threshold (its best own caption) is only known at the end of the scan, so the scan
keeps, per image, its ``max(RECALL_KS)`` best *foreign* scores; R@K for K <= 10 only asks whether fewer
than K foreign captions reach the threshold, which those scores answer exactly.
"""
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from zerovl.registry import METRICS

RECALL_KS = (1, 5, 10)

ArrayLike = Union[torch.Tensor, np.ndarray]


# --------------------------------------------------------------------------------------------------
# Input validation
# --------------------------------------------------------------------------------------------------

def _as_embeddings(embeds: ArrayLike, name: str) -> torch.Tensor:
    embeds = torch.as_tensor(embeds)
    if embeds.dim() != 2:
        raise ValueError(f'{name} must be 2-D (N, D), got shape {tuple(embeds.shape)}')
    if not embeds.is_floating_point():
        raise ValueError(f'{name} must be floating point, got {embeds.dtype}')
    if embeds.shape[0] == 0:
        raise ValueError(f'{name} is empty')
    # A NaN compares false with everything, so it would silently count as a hit (rank 0) or a miss.
    # min and max propagate NaN and are finite only if every value is: one pass, no bool temporary.
    if not all(torch.isfinite(value) for value in torch.aminmax(embeds)):
        raise ValueError(f'{name} contains NaN or inf')
    return embeds


def _compute_dtype(image_embeds: torch.Tensor, text_embeds: torch.Tensor) -> torch.dtype:
    dtype = torch.promote_types(image_embeds.dtype, text_embeds.dtype)
    # fp16/bf16 embeddings (AMP evaluation) are scored in fp32: every half value is exact in fp32, so no
    # information is lost, and half matmuls are slow on CPU and would round the scores before comparing.
    if dtype in (torch.float16, torch.bfloat16):
        dtype = torch.float32
    return dtype


def _as_text_to_image(text_to_image: ArrayLike, num_texts: int, num_images: int) -> torch.Tensor:
    text_to_image = torch.as_tensor(text_to_image)
    if text_to_image.dim() != 1 or text_to_image.shape[0] != num_texts:
        raise ValueError(f'text_to_image must have shape ({num_texts},) (one image index per caption), '
                         f'got {tuple(text_to_image.shape)}')
    if text_to_image.dtype.is_floating_point or text_to_image.dtype == torch.bool or text_to_image.is_complex():
        raise ValueError(f'text_to_image must hold integer image indices, got {text_to_image.dtype}')
    text_to_image = text_to_image.long()
    out_of_range = (text_to_image < 0) | (text_to_image >= num_images)
    if out_of_range.any():
        bad = out_of_range.nonzero().flatten()[:10].tolist()
        raise ValueError(f'text_to_image has indices outside [0, {num_images}) at captions {bad}')
    return text_to_image


def _check_every_image_has_a_caption(text_to_image: torch.Tensor, num_images: int) -> None:
    # An image without a caption has no correct answer: its I→T rank is undefined, and silently dropping it
    # (or counting it as a miss) would change the denominator of I→T recall.
    captions_per_image = torch.bincount(text_to_image, minlength=num_images)
    missing = (captions_per_image == 0).nonzero().flatten().tolist()
    if missing:
        shown = ', '.join(map(str, missing[:10])) + (', ...' if len(missing) > 10 else '')
        raise ValueError(f'{len(missing)} image(s) have no caption in text_to_image: image index {shown}')


def _check_chunk_size(chunk_size: int) -> None:
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f'chunk_size must be a positive int, got {chunk_size!r}')


def _prepare(image_embeds: ArrayLike, text_embeds: ArrayLike, text_to_image: ArrayLike,
             chunk_size: int) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Validate the inputs; return both embeddings in one dtype and ``text_to_image`` as long indices."""
    _check_chunk_size(chunk_size)
    image_embeds = _as_embeddings(image_embeds, 'image_embeds')
    text_embeds = _as_embeddings(text_embeds, 'text_embeds')
    if image_embeds.shape[1] != text_embeds.shape[1]:
        raise ValueError(f'image_embeds and text_embeds must have the same width D, got '
                         f'{image_embeds.shape[1]} and {text_embeds.shape[1]}')
    if image_embeds.device != text_embeds.device:
        raise ValueError(f'image_embeds ({image_embeds.device}) and text_embeds ({text_embeds.device}) '
                         'must be on the same device')
    text_to_image = _as_text_to_image(text_to_image, text_embeds.shape[0], image_embeds.shape[0])
    _check_every_image_has_a_caption(text_to_image, image_embeds.shape[0])
    dtype = _compute_dtype(image_embeds, text_embeds)
    return image_embeds.to(dtype), text_embeds.to(dtype), text_to_image.to(image_embeds.device)


# --------------------------------------------------------------------------------------------------
# Exact ranks, chunked over queries
# --------------------------------------------------------------------------------------------------

def _chunks(num_queries: int, chunk_size: int):
    for start in range(0, num_queries, chunk_size):
        yield start, min(start + chunk_size, num_queries)


def _text_to_image_ranks(image_embeds: torch.Tensor, text_embeds: torch.Tensor, text_to_image: torch.Tensor,
                         chunk_size: int) -> torch.Tensor:
    ranks = torch.empty(text_embeds.shape[0], dtype=torch.long, device=text_embeds.device)
    for start, stop in _chunks(text_embeds.shape[0], chunk_size):
        scores = text_embeds[start:stop] @ image_embeds.T                      # (chunk, N_img)
        # The true score is read from the same matmul output it is compared with, so a tie is decided
        # between values computed identically, not between two differently rounded computations.
        true_scores = scores.gather(1, text_to_image[start:stop, None])
        # The true image always satisfies `>=` against itself; the rest are the (pessimistic) competitors.
        ranks[start:stop] = (scores >= true_scores).sum(dim=1) - 1
    return ranks


def _image_to_text_ranks(image_embeds: torch.Tensor, text_embeds: torch.Tensor, text_to_image: torch.Tensor,
                         chunk_size: int) -> torch.Tensor:
    ranks = torch.empty(image_embeds.shape[0], dtype=torch.long, device=image_embeds.device)
    for start, stop in _chunks(image_embeds.shape[0], chunk_size):
        scores = image_embeds[start:stop] @ text_embeds.T                      # (chunk, N_txt)
        image_index = torch.arange(start, stop, device=image_embeds.device)
        own_captions = text_to_image[None, :] == image_index[:, None]          # (chunk, N_txt)
        # "Any correct caption in the top K" is the same as "the best correct caption in the top K";
        # every image has a caption (checked), so the max is finite.
        best_own = scores.masked_fill(~own_captions, float('-inf')).amax(dim=1, keepdim=True)
        # The image's other captions are not competitors: only foreign captions can push it down.
        ranks[start:stop] = ((scores >= best_own) & ~own_captions).sum(dim=1)
    return ranks


def text_to_image_ranks(image_embeds: ArrayLike, text_embeds: ArrayLike, text_to_image: ArrayLike,
                        chunk_size: int = 1024) -> torch.Tensor:
    """(N_txt,) pessimistic rank of each caption's image among all images (0 = retrieved first)."""
    return _text_to_image_ranks(*_prepare(image_embeds, text_embeds, text_to_image, chunk_size), chunk_size)


def image_to_text_ranks(image_embeds: ArrayLike, text_embeds: ArrayLike, text_to_image: ArrayLike,
                        chunk_size: int = 1024) -> torch.Tensor:
    """(N_img,) number of foreign captions scoring >= each image's best own caption (0 = retrieved first)."""
    return _image_to_text_ranks(*_prepare(image_embeds, text_embeds, text_to_image, chunk_size), chunk_size)


def _update_top_k(best: torch.Tensor, scores: torch.Tensor) -> None:
    """Merge each row of ``scores`` into that row's descending top-k in ``best`` (in place).

    Only rows whose maximum beats their current k-th value can change it (a score equal to it leaves
    the multiset of top-k values as it is). Once a few chunks have been seen, few rows qualify.
    """
    top_k = best.shape[1]
    chunk_k = min(top_k, scores.shape[1])
    rows = (scores.amax(dim=1) > best[:, -1]).nonzero().flatten()
    if rows.numel() == 0:
        return
    if rows.numel() > scores.shape[0] // 2:
        # Most rows qualify (the first chunks): a row gather would copy most of the matrix for nothing.
        merged = torch.cat([best, scores.topk(chunk_k, dim=1).values], dim=1)
        best.copy_(merged.topk(top_k, dim=1).values)
        return
    merged = torch.cat([best[rows], scores[rows].topk(chunk_k, dim=1).values], dim=1)
    best[rows] = merged.topk(top_k, dim=1).values


def _scan_captions(image_embeds: torch.Tensor, text_embeds: torch.Tensor, text_to_image: torch.Tensor,
                   chunk_size: int, top_k: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Both directions from one pass over caption chunks: (N_img,) I→T ranks capped at ``top_k`` and
    (N_txt,) exact T→I ranks. Every score is computed once, and each comparison reads both of its sides
    from the same matmul output (ties are decided between identically computed values)."""
    num_images = image_embeds.shape[0]
    device, dtype = image_embeds.device, image_embeds.dtype
    t2i_ranks = torch.empty(text_embeds.shape[0], dtype=torch.long, device=device)
    best_own = torch.full((num_images,), float('-inf'), dtype=dtype, device=device)
    # Per image, its top_k best foreign scores so far (-inf while fewer have been seen).
    best_foreign = torch.full((num_images, top_k), float('-inf'), dtype=dtype, device=device)
    # Buffers reused by every chunk: allocating them per chunk costs page faults comparable to the
    # comparisons themselves.
    scores_buffer = torch.empty(num_images * min(chunk_size, text_embeds.shape[0]), dtype=dtype, device=device)
    # Comparisons are written as 0.0/1.0 and counted by a matmul with a ones vector: several times faster
    # on CPU than summing a bool matrix (which casts it to a temporary first). Counts are exact integers
    # while they stay below 2**24 in float32.
    count_dtype = dtype if num_images < 2 ** 24 else torch.float64
    ahead_buffer = torch.empty(scores_buffer.shape, dtype=count_dtype, device=device)
    ones = torch.ones(1, num_images, dtype=count_dtype, device=device)
    for start, stop in _chunks(text_embeds.shape[0], chunk_size):
        # (N_img, chunk): one image per row, so the per-image top-k below reads contiguous rows.
        scores = scores_buffer[:num_images * (stop - start)].view(num_images, stop - start)
        torch.matmul(image_embeds, text_embeds[start:stop].T, out=scores)
        own_image = text_to_image[start:stop]
        columns = torch.arange(stop - start, device=device)
        true_scores = scores[own_image, columns]
        ahead = ahead_buffer[:scores.numel()].view(scores.shape)
        torch.ge(scores, true_scores[None, :], out=ahead)
        t2i_ranks[start:stop] = (ones @ ahead)[0].long() - 1
        best_own.scatter_reduce_(0, own_image, true_scores, reduce='amax')
        # An image's own captions never compete with it; once T→I has read them, they are dropped.
        scores[own_image, columns] = float('-inf')
        _update_top_k(best_foreign, scores)
    # Foreign captions at or above the best own one (pessimistic ties), counted up to top_k.
    i2t_ranks = (best_foreign >= best_own[:, None]).sum(dim=1)
    return i2t_ranks, t2i_ranks


def _recall_percent(ranks: torch.Tensor, k: int) -> float:
    # Integer count divided in Python: the exact same float for the same hits, whatever the device.
    return 100.0 * int((ranks < k).sum()) / ranks.numel()


def retrieval_metrics(image_embeds: ArrayLike, text_embeds: ArrayLike, text_to_image: ArrayLike,
                      chunk_size: int = 1024) -> Dict[str, float]:
    """Exact ZeroVL retrieval recalls in percent.

    Args:
        image_embeds: (N_img, D) tensor or array, one row per distinct image.
        text_embeds: (N_txt, D) tensor or array, one row per caption.
        text_to_image: (N_txt,) integer index into ``image_embeds`` of each caption's image. Every image
            must have at least one caption.
        chunk_size: captions scored at once; memory is O((chunk_size + 10) x N_img).

    Returns:
        ``i2t_R@1, i2t_R@5, i2t_R@10, t2i_R@1, t2i_R@5, t2i_R@10`` and their sum ``rsum``.
    """
    image_embeds, text_embeds, text_to_image = _prepare(image_embeds, text_embeds, text_to_image, chunk_size)
    with torch.no_grad():
        i2t_ranks, t2i_ranks = _scan_captions(image_embeds, text_embeds, text_to_image, chunk_size,
                                              top_k=max(RECALL_KS))
    metrics = {f'i2t_R@{k}': _recall_percent(i2t_ranks, k) for k in RECALL_KS}
    metrics.update({f't2i_R@{k}': _recall_percent(t2i_ranks, k) for k in RECALL_KS})
    metrics['rsum'] = sum(metrics.values())
    return metrics


# --------------------------------------------------------------------------------------------------
# MMEngine metric
# --------------------------------------------------------------------------------------------------

_PAIR_KEYS = ('image_embed', 'text_embed', 'image_id', 'dataset_name')


def _hashable_id(image_id: Any) -> Any:
    # A collated id may arrive as a 0-d tensor or numpy scalar; those hash by identity, not value, so two
    # captions of the same image would not be grouped.
    if isinstance(image_id, (torch.Tensor, np.ndarray, np.generic)):
        return image_id.item()
    return image_id


def _embedding_row(embed: Any, key: str) -> torch.Tensor:
    embed = torch.as_tensor(embed)
    if embed.dim() != 1:
        raise ValueError(f'{key} must be a 1-D tensor per sample, got shape {tuple(embed.shape)}')
    # clone(): a model usually returns rows of its batch tensor; a row view would keep the whole batch
    # alive, and pickling it (collect_results_cpu dumps self.results) would write the whole batch storage.
    return embed.detach().cpu().clone()


def _pair_record(sample: dict) -> dict:
    missing = [key for key in _PAIR_KEYS if key not in sample]
    if missing:
        raise KeyError(f'RetrievalMetric: a prediction lacks {missing}; it needs {list(_PAIR_KEYS)}')
    return dict(image_embed=_embedding_row(sample['image_embed'], 'image_embed'),
                text_embed=_embedding_row(sample['text_embed'], 'text_embed'),
                image_id=_hashable_id(sample['image_id']),
                dataset_name=str(sample['dataset_name']))


def _group_by_dataset(records: List[dict]) -> Dict[str, List[dict]]:
    groups: Dict[str, List[dict]] = {}  # insertion order = first appearance: stable key order in logs
    for record in records:
        groups.setdefault(record['dataset_name'], []).append(record)
    return groups


def _stack_rows(rows: List[torch.Tensor], what: str) -> torch.Tensor:
    widths = {row.shape[0] for row in rows}
    if len(widths) != 1:
        raise ValueError(f'{what} have different widths {sorted(widths)}')
    return torch.stack(rows)


def _dedupe_images(records: List[dict]) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One image row per image_id (its first occurrence), all captions, and each caption's image index.

    The model embeds the image once per (image, caption) pair; evaluation must rank *distinct* images, or
    an image would compete with its own copies in T→I and be counted several times in I→T.
    """
    image_index: Dict[Any, int] = {}
    image_rows, text_rows, text_to_image = [], [], []
    for record in records:
        image_id = record['image_id']
        if image_id not in image_index:
            image_index[image_id] = len(image_rows)
            image_rows.append(record['image_embed'])
        text_rows.append(record['text_embed'])
        text_to_image.append(image_index[image_id])
    return (_stack_rows(image_rows, 'image embeddings'), _stack_rows(text_rows, 'text embeddings'),
            torch.tensor(text_to_image, dtype=torch.long))


@METRICS.register_module()
class RetrievalMetric(BaseMetric):
    """ZeroVL zero-shot retrieval recalls per evaluation dataset, keyed ``{dataset_name}/{metric}``.

    ``process`` takes the model's predict outputs, one dict per (image, caption) pair with ``image_embed``,
    ``text_embed`` (1-D), ``image_id`` and ``dataset_name``. ``compute_metrics`` groups the pairs by
    dataset, keeps one embedding per ``image_id`` and returns ``{dataset}/i2t_R@{1,5,10}``,
    ``{dataset}/t2i_R@{1,5,10}``, ``{dataset}/rsum``, plus ``mean_rsum`` when there are several datasets.

    Key prefix: ``BaseMetric.__init__`` sets ``self.prefix = prefix or self.default_prefix`` and warns when
    that is None; ``BaseMetric.evaluate`` prepends ``prefix + '/'`` only when the prefix is truthy
    (mmengine 0.10.7, mmengine/evaluator/metric.py lines 54-62 and 135-139). ``default_prefix = ''`` thus
    gives keys exactly ``{dataset}/{metric}`` without the warning; a config's ``prefix='x'`` gives
    ``x/{dataset}/{metric}``.

    Distributed evaluation is exact, with nothing counted twice:

    * ``DefaultSampler(round_up=True)`` pads the index list to a multiple of the world size by repeating
      its head, then gives rank r the indices ``r, r + W, r + 2W, ...`` (mmengine/dataset/sampler.py
      lines 79-85), so the last shards hold copies of the first pairs.
    * ``ValLoop``/``TestLoop`` call ``evaluate(len(dataset))`` (mmengine/runner/loops.py lines 382, 466);
      ``BaseMetric.evaluate`` -> ``collect_results`` (metric.py lines 121-128) zips the ranks' result lists
      back in round-robin order, which undoes the stride split, and keeps the first ``size`` entries
      (mmengine/dist/dist.py lines 1030-1035 for cpu, 1054-1059 for gpu): exactly the dataset once, in
      order, padding dropped. ``compute_metrics`` then runs on rank 0 only and its dict is broadcast to all
      ranks (metric.py lines 130-144).
    * This holds only if ``self.results`` holds exactly one entry per dataset item in sampler order,
      which is why ``process`` appends one record per pair (never one per batch) and the dataset must be
      indexed by pair. Padded copies cannot be recognised afterwards (a pair has no unique id here, and
      dedupe by ``image_id`` would not remove a repeated *caption*), so the truncation is what prevents
      double counting; evaluating with a sampler that pads without this truncation would bias the recalls.
      With one process ``collect_results`` returns ``results[:size]`` (dist.py line 989).
    """

    default_prefix: Optional[str] = ''

    def __init__(self, chunk_size: int = 1024, collect_device: str = 'cpu', prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        _check_chunk_size(chunk_size)
        self.chunk_size = chunk_size

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        # One record per pair: collect_results' truncation to the dataset size counts entries (see above).
        self.results.extend(_pair_record(sample) for sample in data_samples)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        if not results:
            raise ValueError('RetrievalMetric received no predictions to evaluate')
        metrics: Dict[str, float] = {}
        rsums = []
        for dataset_name, records in _group_by_dataset(results).items():
            image_embeds, text_embeds, text_to_image = _dedupe_images(records)
            scores = retrieval_metrics(image_embeds, text_embeds, text_to_image, self.chunk_size)
            metrics.update({f'{dataset_name}/{name}': value for name, value in scores.items()})
            rsums.append(scores['rsum'])
        if len(rsums) > 1:
            metrics['mean_rsum'] = sum(rsums) / len(rsums)
        return metrics
