"""The softmax temperature of the contrastive loss."""
import torch
from torch import nn


class Temperature(nn.Module):
    """τ, constant (ZeroVL's released configs: 0.02) or learnable, always clamped to [min, max].

    A learnable τ is a plain parameter initialised at ``init`` (as in the original code); the clamp
    keeps it in ZeroVL's range [0.001, 0.5] and stops its gradient while it sits on a bound.
    """
    KEYS = ('init', 'learnable', 'min', 'max')  # its config keys (``model.loss.temperature``)

    def __init__(self, init: float = 0.02, learnable: bool = False, min: float = 0.001, max: float = 0.5):
        super().__init__()
        if not min <= init <= max:
            raise ValueError(f'temperature init={init} lies outside [min={min}, max={max}]')
        self.learnable = learnable
        self.min, self.max = min, max
        value = torch.tensor(float(init))
        if learnable:
            self.value = nn.Parameter(value)
        else:
            self.register_buffer('value', value)

    def forward(self) -> torch.Tensor:
        return self.value.clamp(self.min, self.max)

    def extra_repr(self) -> str:
        return f'learnable={self.learnable}, range=[{self.min}, {self.max}]'
