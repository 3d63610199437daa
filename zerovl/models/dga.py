"""Decoupled gradient accumulation (DGA): the exact gradient of a large contrastive batch with the
activation memory of a sub-batch.

The contrastive loss couples every sample of the batch, so ordinary accumulation (one loss per
sub-batch) changes the objective: each query would see only the negatives of its own sub-batch. But the
loss depends on the parameters only through the embeddings, so

    dL/dθ = Σ_i (dL/du_i)·(du_i/dθ) + Σ_j (dL/dv_j)·(dv_j/dθ)

and each term needs one sample's graph. Pass 1 embeds every sub-batch without a graph, computes the loss
of the whole batch once and its gradient with respect to the embeddings (and a learnable temperature).
Pass 2 re-embeds each sub-batch with a graph and back-propagates the surrogate ⟨embedding, cached grad⟩,
whose parameter gradient is exactly the term above. Three details make it exact:

* RNG replay: pass 2 restores the RNG state each sub-batch had in pass 1, so dropout draws the same
  masks and the re-computed embeddings are the ones whose gradient was cached.
* The loss's own learnable parameters (a learnable τ; SigLIP's scale and bias) get their gradient once,
  from the full loss, added through the last sub-batch's surrogate, not once per sub-batch (open_clip's
  accum-freq gives it k times).
* Under DDP, gradients are synchronised only by the last sub-batch's backward (``no_sync`` before it),
  and the loss's own cross-rank gather makes pass 1 see the global batch.

Caveat: BatchNorm statistics are per sub-batch (and updated in both passes), so a BatchNorm tower is not
exactly equivalent; LayerNorm towers (ViT, BERT) are.
"""
from contextlib import nullcontext
from typing import List, Optional

import torch
from mmengine.optim import OptimWrapper
from torch import nn

from zerovl.utils.rng import RngState
from .heads import full_precision
from .mixup import MixDecision


def split_inputs(inputs: dict, sub_batch_size: int) -> List[dict]:
    """Views of every tensor of ``inputs`` in consecutive sub-batches of ``sub_batch_size``.

    The images are still uint8 here: each pass normalises one sub-batch at a time (``normalized``), so
    the float copy of the whole batch never exists."""
    batch_size = len(inputs['images'])
    if batch_size % sub_batch_size:
        raise ValueError(f'model.dga.sub_batch_size={sub_batch_size} must divide the per-GPU batch size '
                         f'{batch_size} (train_dataloader.batch_size)')
    return [{key: value[start:start + sub_batch_size] for key, value in inputs.items()}
            for start in range(0, batch_size, sub_batch_size)]


def normalized(model: nn.Module, chunk: dict) -> dict:
    return model.data_preprocessor.normalize(chunk)


@torch.no_grad()
def embed_without_graph(model: nn.Module, chunks: List[dict], optim_wrapper: OptimWrapper,
                        mix: Optional[MixDecision]):
    """Pass 1: embeddings of every sub-batch (in train mode, so with dropout) and each one's RNG state."""
    images, texts, states = [], [], []
    for chunk in chunks:
        states.append(RngState.capture())
        with optim_wrapper.optim_context(model):
            image_embeds, text_embeds = model.embed(normalized(model, chunk), mix)
        images.append(full_precision(image_embeds))
        texts.append(full_precision(text_embeds))
    return torch.cat(images), torch.cat(texts), states


def loss_parameters(model: nn.Module) -> List[nn.Parameter]:
    """The trainable parameters of the loss itself (InfoNCE's learnable τ, SigLIP's scale and bias): they
    depend on the whole batch at once, so no sub-batch's graph holds their gradient."""
    return [param for param in model.loss_module.parameters() if param.requires_grad]


def embedding_gradients(model: nn.Module, image_embeds: torch.Tensor, text_embeds: torch.Tensor,
                        mix: Optional[MixDecision], sub_batch_size: int):
    """The full-batch loss, its gradient w.r.t. the (detached) embeddings, and ``(parameter, gradient)``
    for each trainable parameter of the loss."""
    image_embeds = image_embeds.detach().requires_grad_()
    text_embeds = text_embeds.detach().requires_grad_()
    params = loss_parameters(model)
    with torch.enable_grad():
        loss = model.contrastive_loss(image_embeds, text_embeds, mix, block=sub_batch_size)
        grads = torch.autograd.grad(loss, [image_embeds, text_embeds, *params])
    return loss.detach(), grads[0], grads[1], list(zip(params, grads[2:]))


def dga_step(model: nn.Module, forward_module: nn.Module, inputs: dict, optim_wrapper: OptimWrapper,
             sub_batch_size: int, mix: Optional[MixDecision]) -> dict:
    """One optimizer step with decoupled gradient accumulation; returns the log variables.

    ``model`` is the bare DualEncoder; ``forward_module`` is the DDP wrapper around it (or the model
    itself without DDP): pass-2 forwards go through it so that DDP's reducer sees their backward.
    """
    chunks = split_inputs(inputs, sub_batch_size)
    image_embeds, text_embeds, states = embed_without_graph(model, chunks, optim_wrapper, mix)
    after_pass_one = RngState.capture()
    loss, image_grads, text_grads, loss_param_grads = embedding_gradients(
        model, image_embeds, text_embeds, mix, sub_batch_size)

    for index, (chunk, state) in enumerate(zip(chunks, states)):
        last = index == len(chunks) - 1
        rows = slice(index * sub_batch_size, (index + 1) * sub_batch_size)
        state.restore()
        sync = nullcontext() if last or not hasattr(forward_module, 'no_sync') else forward_module.no_sync()
        with sync:
            with optim_wrapper.optim_context(model):
                chunk_images, chunk_texts = forward_module(inputs=normalized(model, chunk), mode='tensor', mix=mix)
            surrogate = ((full_precision(chunk_images) * image_grads[rows]).sum()
                         + (full_precision(chunk_texts) * text_grads[rows]).sum())
            if last:
                for param, grad in loss_param_grads:
                    surrogate = surrogate + (param * grad).sum()
            optim_wrapper.backward(surrogate)
    # Leave the RNG where one pass would have: the replay must not repeat draws in later code.
    after_pass_one.restore()
    optim_wrapper.step()
    optim_wrapper.zero_grad()
    return dict(loss=loss, temperature=model.loss_module.temperature().detach())
