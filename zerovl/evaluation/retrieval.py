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

The scan runs where the embeddings are, or on the ``device`` asked for (a GPU next to the model: the
embeddings are moved there whole, 2.4 GB for 1M captions and 200k images at D=512). Every device runs the
same comparisons with the same tie rule on float32 scores from a full-precision product, and counts are
integers, so the ranks are exact for the scores that device computes. Different BLAS libraries may round
a score differently in its last bit, so across devices only pairs whose scores differ by about one ulp can
flip; scores exact in float32 (the tests' quantised embeddings) give identical ranks everywhere.
``max_chunk_bytes`` lowers ``chunk_size`` to bound the memory that grows with it.
"""
from typing import Dict, Optional, Tuple, Union

import numpy as np
import torch

from zerovl.utils.matmul_precision import ieee_fp32_matmul

RECALL_KS = (1, 5, 10)

ArrayLike = Union[torch.Tensor, np.ndarray]
DeviceLike = Union[str, torch.device, None]


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


def check_chunk_size(chunk_size: int) -> None:
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f'chunk_size must be a positive int, got {chunk_size!r}')


def check_max_chunk_bytes(max_chunk_bytes: Optional[int]) -> None:
    if max_chunk_bytes is None:
        return
    if isinstance(max_chunk_bytes, bool) or not isinstance(max_chunk_bytes, int) or max_chunk_bytes < 1:
        raise ValueError(f'max_chunk_bytes must be a positive int (bytes) or None, got {max_chunk_bytes!r}')


def _to_device(values: ArrayLike, device: DeviceLike) -> torch.Tensor:
    values = torch.as_tensor(values)
    # Moved before validation and the fp32 cast: fp16 rows cross the bus at half the bytes, and the
    # checks and the cast run where the compute is.
    return values if device is None else values.to(device)


def _prepare(image_embeds: ArrayLike, text_embeds: ArrayLike, text_to_image: ArrayLike,
             chunk_size: int, device: DeviceLike = None) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Validate the inputs; return both embeddings in one dtype and ``text_to_image`` as long indices, on
    ``device`` (None: where the embeddings are)."""
    check_chunk_size(chunk_size)
    image_embeds = _as_embeddings(_to_device(image_embeds, device), 'image_embeds')
    text_embeds = _as_embeddings(_to_device(text_embeds, device), 'text_embeds')
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


def _count_dtype(dtype: torch.dtype, num_images: int) -> torch.dtype:
    # Comparisons are written as 0.0/1.0 and counted by a matmul with a ones vector: several times faster
    # on CPU than summing a bool matrix (which casts it to a temporary first). Counts are exact integers
    # while they stay below 2**24 in float32.
    return dtype if num_images < 2 ** 24 else torch.float64


def working_bytes_per_caption(num_images: int, dtype: torch.dtype = torch.float32) -> int:
    """Memory one caption of a chunk costs the scan: its column of scores, of comparisons, and one more
    float column for the top-k update (its row gather copies at most half the chunk; the rest is slack
    for the selection's temporaries). This is what grows with ``chunk_size``; the rest of the scan is
    O(N_img x 10) top-k state and O(N_txt) ranks."""
    itemsize = torch.empty(0, dtype=dtype).element_size()
    count_itemsize = torch.empty(0, dtype=_count_dtype(dtype, num_images)).element_size()
    return num_images * (2 * itemsize + count_itemsize)


def chunk_size_within(max_chunk_bytes: Optional[int], num_images: int, chunk_size: int,
                      dtype: torch.dtype = torch.float32) -> int:
    """``chunk_size``, lowered so that a chunk's working memory stays within ``max_chunk_bytes``."""
    if max_chunk_bytes is None:
        return chunk_size
    check_max_chunk_bytes(max_chunk_bytes)
    per_caption = working_bytes_per_caption(num_images, dtype)
    if max_chunk_bytes < per_caption:
        raise ValueError(f'max_chunk_bytes={max_chunk_bytes} is less than one caption needs against '
                         f'{num_images} images ({per_caption} bytes); raise max_chunk_bytes')
    return min(chunk_size, max_chunk_bytes // per_caption)


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
    count_dtype = _count_dtype(dtype, num_images)
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


def retrieval_ranks(image_embeds: ArrayLike, text_embeds: ArrayLike, text_to_image: ArrayLike,
                    chunk_size: int = 1024, device: DeviceLike = None,
                    max_chunk_bytes: Optional[int] = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """The ranks :func:`retrieval_metrics` reads, computed on ``device``: (N_img,) I→T ranks capped at
    ``max(RECALL_KS)`` (exact below it) and (N_txt,) exact T→I ranks, both on ``device``.

    The device changes where the arithmetic runs, not what is computed: the same comparisons of scores
    taken from one float32 (or float64) product, with the same tie rule. The products run in full IEEE
    float32 even where the process allows TF32 or bf16 matmuls, which would round scores and move ties.
    """
    image_embeds, text_embeds, text_to_image = _prepare(image_embeds, text_embeds, text_to_image, chunk_size,
                                                        device)
    chunk_size = chunk_size_within(max_chunk_bytes, image_embeds.shape[0], chunk_size, image_embeds.dtype)
    with torch.no_grad(), ieee_fp32_matmul():
        return _scan_captions(image_embeds, text_embeds, text_to_image, chunk_size, top_k=max(RECALL_KS))


def retrieval_metrics(image_embeds: ArrayLike, text_embeds: ArrayLike, text_to_image: ArrayLike,
                      chunk_size: int = 1024, device: DeviceLike = None,
                      max_chunk_bytes: Optional[int] = None) -> Dict[str, float]:
    """Exact ZeroVL retrieval recalls in percent.

    Args:
        image_embeds: (N_img, D) tensor or array, one row per distinct image.
        text_embeds: (N_txt, D) tensor or array, one row per caption.
        text_to_image: (N_txt,) integer index into ``image_embeds`` of each caption's image. Every image
            must have at least one caption.
        chunk_size: captions scored at once, at most; memory is O((chunk_size + 10) x N_img).
        device: where to compute (``'cpu'``, ``'cuda'``, a ``torch.device``); the inputs are moved there
            whole. None: where the embeddings already are.
        max_chunk_bytes: if set, ``chunk_size`` is lowered so that a chunk's working memory
            (:func:`working_bytes_per_caption` per caption) stays within it.

    Returns:
        ``i2t_R@1, i2t_R@5, i2t_R@10, t2i_R@1, t2i_R@5, t2i_R@10`` and their sum ``rsum``.
    """
    i2t_ranks, t2i_ranks = retrieval_ranks(image_embeds, text_embeds, text_to_image, chunk_size, device,
                                           max_chunk_bytes)
    metrics = {f'i2t_R@{k}': _recall_percent(i2t_ranks, k) for k in RECALL_KS}
    metrics.update({f't2i_R@{k}': _recall_percent(t2i_ranks, k) for k in RECALL_KS})
    metrics['rsum'] = sum(metrics.values())
    return metrics
