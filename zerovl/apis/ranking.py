"""Top-k retrieval by cosine similarity, with ties broken by gallery order so the answer is reproducible."""
from typing import Tuple

import torch


def top_k(query_embeds: torch.Tensor, gallery_embeds: torch.Tensor, k: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` best gallery entries of every query.

    Args:
        query_embeds: (Q, D) L2-normalised embeddings (the model's), so the dot product is the cosine.
        gallery_embeds: (N, D) in the same space.
        k: how many to return, 1 <= k <= N.

    Returns:
        ``(scores, indices)``, both (Q, k), best first. Equal scores keep gallery order (a stable sort),
        where ``torch.topk`` leaves their order unspecified.
    """
    if query_embeds.dim() != 2 or gallery_embeds.dim() != 2:
        raise ValueError(f'top_k: expected (Q, D) queries and (N, D) gallery, got shapes '
                         f'{tuple(query_embeds.shape)} and {tuple(gallery_embeds.shape)}')
    if query_embeds.shape[1] != gallery_embeds.shape[1]:
        raise ValueError(f'top_k: queries have width {query_embeds.shape[1]}, the gallery '
                         f'{gallery_embeds.shape[1]}')
    num_gallery = gallery_embeds.shape[0]
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= num_gallery:
        raise ValueError(f'top_k: k must be an int in [1, {num_gallery}] (the gallery size), got {k!r}')
    scores = query_embeds.float() @ gallery_embeds.float().T
    sorted_scores, order = torch.sort(scores, dim=1, descending=True, stable=True)
    return sorted_scores[:, :k], order[:, :k]
