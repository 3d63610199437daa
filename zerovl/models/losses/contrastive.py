"""Symmetric InfoNCE over the whole world (CLIP / ZeroVL loss)."""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from zerovl.registry import MODELS
from zerovl.utils.dist import all_gather_detached, all_gather_with_grad, get_rank
from zerovl.utils.schema import check_keys
from .temperature import Temperature


@MODELS.register_module()
class InfoNCELoss(nn.Module):
    """L = ½·[CE(image→text) + CE(text→image)], each rank's queries against every rank's keys.

    Args:
        temperature: kwargs of :class:`Temperature` (``init``, ``learnable``, ``min``, ``max``).
        gather_with_grad: gather the keys with autograd across ranks, so that after DDP's averaging every
            rank holds exactly the gradient of the global-batch loss. ``False`` gathers them as constants
            (the original ``gather_backward=False``): an embedding then learns only as a query.

    Soft targets (coin-flip mixup) are given as ``mix=(lam, partner)``: query i's target is
    ``lam·e_i + (1-lam)·e_partner[i]`` (``partner`` indexes the local batch), in both directions.
    """

    def __init__(self, temperature: Optional[dict] = None, gather_with_grad: bool = True):
        super().__init__()
        check_keys(temperature or {}, Temperature.KEYS, 'model.loss.temperature')
        self.temperature = Temperature(**(temperature or {}))
        self.gather_with_grad = gather_with_grad

    def gather(self, embeds: torch.Tensor) -> torch.Tensor:
        return all_gather_with_grad(embeds) if self.gather_with_grad else all_gather_detached(embeds)

    def forward(self, image_embeds: torch.Tensor, text_embeds: torch.Tensor, mix=None) -> torch.Tensor:
        if image_embeds.shape != text_embeds.shape:
            raise ValueError(f'image and text embeddings differ in shape: '
                             f'{tuple(image_embeds.shape)} vs {tuple(text_embeds.shape)}')
        tau = self.temperature()
        all_images, all_texts = self.gather(image_embeds), self.gather(text_embeds)
        # This rank's pairs sit at rows [rank*B, (rank+1)*B) of the gathered tensors.
        targets = torch.arange(image_embeds.shape[0], device=image_embeds.device)
        targets = targets + get_rank() * image_embeds.shape[0]
        image_to_text = image_embeds @ all_texts.t() / tau
        text_to_image = text_embeds @ all_images.t() / tau
        return 0.5 * (soft_cross_entropy(image_to_text, targets, mix)
                      + soft_cross_entropy(text_to_image, targets, mix))


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor, mix=None) -> torch.Tensor:
    """Mean CE against one-hot ``targets``, or against ``lam·e_t + (1-lam)·e_t[partner]`` with mixup."""
    if mix is None:
        return F.cross_entropy(logits, targets)
    lam, partner = mix
    return lam * F.cross_entropy(logits, targets) + (1 - lam) * F.cross_entropy(logits, targets[partner])
