"""Projection heads: map a tower's pooled feature into the shared embedding space."""
import torch
from torch import nn

from zerovl.registry import MODELS


@MODELS.register_module()
class LinearProjection(nn.Linear):
    """ZeroVL's head: one bias-free linear layer (768 -> 512 for ViT-B/16 and BERT-base)."""

    def __init__(self, in_dim: int, out_dim: int):
        super().__init__(in_dim, out_dim, bias=False)


@MODELS.register_module()
class MLPProjection(nn.Module):
    """Linear -> GELU -> Linear -> Dropout, a residual around the second layer, then LayerNorm.

    This is the "complex" head of the original code, made constructible (there it could not be built).
    """

    def __init__(self, in_dim: int, out_dim: int, dropout: float = 0.1):
        super().__init__()
        self.project = nn.Linear(in_dim, out_dim)
        self.act = nn.GELU()
        self.fc = nn.Linear(out_dim, out_dim)
        self.dropout = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        projected = self.project(x)
        return self.norm(projected + self.dropout(self.fc(self.act(projected))))


def full_precision(x: torch.Tensor) -> torch.Tensor:
    """fp16/bf16 -> float32; float32 and float64 stay as they are."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def l2_normalize(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """``x / (||x|| + eps)`` along the last dim, in at least float32 so that fp16/bf16 embeddings keep
    their precision in the similarity matrix."""
    x = full_precision(x)
    return x / (x.norm(dim=-1, keepdim=True) + eps)
