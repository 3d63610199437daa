"""Collectives that work with one process and no process group, and with gloo on CPU.

Every helper degrades to the identity when ``torch.distributed`` is not initialised, so the same model
code runs in a notebook, in a single-process test and under ``torchrun``.
"""
import torch
import torch.distributed as dist


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def get_world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def get_rank() -> int:
    return dist.get_rank() if is_distributed() else 0


class _AllGatherWithGrad(torch.autograd.Function):
    """All-gather whose backward hands each rank the summed gradient of its own slice.

    Every rank's loss depends on every rank's embeddings through the gathered tensor. Summing the
    incoming gradients over ranks (all_reduce) and keeping this rank's rows gives each local embedding
    the gradient of the *sum* of all ranks' losses; DDP then divides by the world size, so the step
    follows the gradient of the global mean loss, exactly as in a single-process full batch.
    """

    @staticmethod
    def forward(ctx, tensor):
        ctx.batch_size = tensor.shape[0]
        gathered = [torch.empty_like(tensor) for _ in range(dist.get_world_size())]
        dist.all_gather(gathered, tensor.contiguous())
        return torch.cat(gathered, dim=0)

    @staticmethod
    def backward(ctx, grad_output):
        grad = grad_output.contiguous().clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        start = dist.get_rank() * ctx.batch_size
        return grad[start:start + ctx.batch_size]


def all_gather_with_grad(tensor: torch.Tensor) -> torch.Tensor:
    """Concatenate ``tensor`` from all ranks (rank order) keeping the autograd graph across ranks.

    All ranks must pass the same batch size.
    """
    if get_world_size() == 1:
        return tensor
    return _AllGatherWithGrad.apply(tensor)


@torch.no_grad()
def all_gather_detached(tensor: torch.Tensor) -> torch.Tensor:
    """Concatenate ``tensor`` from all ranks as a constant: no gradient flows back, not even to this
    rank's own rows (ZeroVL's ``gather_backward=False``)."""
    if get_world_size() == 1:
        return tensor.detach()
    gathered = [torch.empty_like(tensor) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, tensor.contiguous())
    return torch.cat(gathered, dim=0)
