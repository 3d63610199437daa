"""SigLIP's pairwise sigmoid loss (Zhai et al., Sigmoid Loss for Language Image Pre-Training, ICCV 2023),
exact across ranks."""
import math
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from zerovl.registry import MODELS
from zerovl.utils.dist import all_gather_detached, all_gather_with_grad, get_rank


@MODELS.register_module()
class SigLIPLoss(nn.Module):
    """Every image-text pair is its own binary problem: is this the image's caption or not?

    With logits ``l_ij = t·<x_i, y_j> + b`` and ``z_ij = +1`` on the matching pair, ``-1`` elsewhere,
    each rank's loss is

        L = -(1/B) Σ_{i in this rank's B images} Σ_{j in all ranks' N texts} log σ(z_ij · l_ij).

    Only the texts are gathered: pair (i, j) then belongs to the rank of image i alone, so the ranks'
    losses together cover the N² pairs of the global batch exactly once, and their mean is the
    single-process loss of the global batch. With ``gather_with_grad`` the gathered texts carry gradients
    back to their own rank, so after DDP's averaging every rank holds that loss's exact gradient.

    Args:
        scale_init: t at the start (10 in the paper). t is learned as log t, which keeps it positive.
        bias_init: b at the start (-10 in the paper): almost every pair is a negative, so the loss starts
            near its prior instead of spending the first steps pushing N² - N logits below zero.
        learnable: learn t and b (the paper). ``False`` keeps both fixed.
        gather_with_grad: ``False`` gathers the other ranks' texts as constants (this rank's own keep their
            graph): a text then learns only from its own rank's images, and the gradient is no longer the
            global batch's (the control of the distributed test). One process gives the same either way.

    Called like :class:`zerovl.models.InfoNCELoss`. Mixup soft targets ``mix=(lam, partner)`` give image i
    the target ``lam`` on its own text and ``1 - lam`` on the text of its partner (an index into the local
    batch); binary cross-entropy with these targets is the same λ-weighted sum of the two hard losses.
    """

    def __init__(self, scale_init: float = 10.0, bias_init: float = -10.0, learnable: bool = True,
                 gather_with_grad: bool = True):
        super().__init__()
        if scale_init <= 0:
            raise ValueError(f'SigLIPLoss: scale_init must be positive, got {scale_init}')
        self.learnable = learnable
        self.gather_with_grad = gather_with_grad
        for name, value in (('log_scale', math.log(scale_init)), ('bias', float(bias_init))):
            value = torch.tensor(value)
            if learnable:
                self.register_parameter(name, nn.Parameter(value))
            else:
                self.register_buffer(name, value)

    def temperature(self) -> torch.Tensor:
        """1/t. DualEncoder and DGA log the loss's ``temperature()`` each step; for SigLIP that is the
        inverse of the logit scale, comparable with InfoNCE's τ."""
        return torch.exp(-self.log_scale)

    def logits(self, image_embeds: torch.Tensor, all_text_embeds: torch.Tensor) -> torch.Tensor:
        return self.log_scale.exp() * (image_embeds @ all_text_embeds.t()) + self.bias

    def forward(self, image_embeds: torch.Tensor, text_embeds: torch.Tensor, mix=None) -> torch.Tensor:
        if image_embeds.shape != text_embeds.shape:
            raise ValueError(f'image and text embeddings differ in shape: '
                             f'{tuple(image_embeds.shape)} vs {tuple(text_embeds.shape)}')
        gather = all_gather_with_grad if self.gather_with_grad else gather_others_detached
        all_texts = gather(text_embeds)
        logits = self.logits(image_embeds, all_texts)
        batch_size = image_embeds.shape[0]
        # This rank's texts sit at columns [rank*B, (rank+1)*B) of the gathered matrix.
        targets = sigmoid_targets(batch_size, all_texts.shape[0], get_rank() * batch_size, mix,
                                  dtype=logits.dtype, device=logits.device)
        return F.binary_cross_entropy_with_logits(logits, targets, reduction='sum') / batch_size

    def extra_repr(self) -> str:
        return f'learnable={self.learnable}, gather_with_grad={self.gather_with_grad}'


def gather_others_detached(text_embeds: torch.Tensor) -> torch.Tensor:
    """All ranks' texts in rank order, constants except this rank's own rows, which keep their graph.

    Splicing the local rows back in matters here: SigLIP gathers only the texts, so a fully detached
    gather would leave the text tower with no gradient at all rather than a partial one.
    """
    gathered = all_gather_detached(text_embeds)
    start = get_rank() * text_embeds.shape[0]
    return torch.cat([gathered[:start], text_embeds, gathered[start + text_embeds.shape[0]:]])


def sigmoid_targets(num_images: int, num_texts: int, offset: int, mix: Optional[Sequence] = None,
                    dtype: torch.dtype = torch.float32, device=None) -> torch.Tensor:
    """The (num_images, num_texts) matrix of targets in [0, 1]: image i's own text is column ``offset + i``.

    Without mixup it holds 1 there and 0 elsewhere (z = +1 / -1). With ``mix=(lam, partner)`` row i holds
    ``lam`` at its own text and ``1 - lam`` at its partner's; where the partner is the image itself (the
    middle of an odd reversed batch) the two add up to 1.
    """
    targets = torch.zeros(num_images, num_texts, dtype=dtype, device=device)
    rows = torch.arange(num_images, device=device)
    if mix is None:
        targets[rows, offset + rows] = 1.0
        return targets
    lam, partner = mix
    partner = torch.as_tensor(partner, device=device)
    if partner.shape != (num_images,):
        raise ValueError(f'SigLIPLoss: mixup partner must index the {num_images} local images, '
                         f'got shape {tuple(partner.shape)}')
    # Two separate writes: within each, the indexed cells are distinct (one per row), so the second
    # adds onto the first where partner[i] == i instead of overwriting it.
    targets[rows, offset + rows] += float(lam)
    targets[rows, offset + partner] += 1.0 - float(lam)
    return targets
