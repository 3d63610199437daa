"""ZeroVL's coin-flipping mixup: each step mixes either the images or the texts, never both."""
from dataclasses import dataclass

import torch
from torch import nn

from zerovl.registry import MODELS
from zerovl.utils.rng import keyed_rng

MODES = ('coin', 'image', 'text', 'both')


@dataclass(frozen=True)
class MixDecision:
    """What one optimizer step mixes. ``lam`` weighs item i against its partner (the reversed batch)."""
    lam: float
    mix_image: bool
    mix_text: bool

    @property
    def target_weight(self) -> float:
        """Weight of the own index in the soft target ``w·e_i + (1-w)·e_partner(i)``.

        With one modality mixed, mixed item i is λ of pair i, so w = λ. With both mixed by the same λ,
        image i and text i hold pair i with weights λ and λ, so the expected overlap is λ² + (1-λ)²
        (and 2λ(1-λ) with the partner): the label of the 'both' ablation.
        """
        if self.mix_image and self.mix_text:
            return self.lam ** 2 + (1 - self.lam) ** 2
        return self.lam


def mix_with_reversed(x: torch.Tensor, lam: float) -> torch.Tensor:
    """``λ·x_i + (1-λ)·x_{n-1-i}``: ZeroVL's partner is the reversed (sub-)batch, not a permutation."""
    return lam * x + (1 - lam) * x.flip(0)


def block_reversal(n: int, block: int, device=None) -> torch.Tensor:
    """Partner indices of ``n`` items mixed by reversal within consecutive blocks of ``block`` items
    (a DGA sub-batch, or the whole per-rank batch when ``block == n``)."""
    if n % block:
        raise ValueError(f'batch of {n} does not split into blocks of {block}')
    index = torch.arange(n, device=device).view(-1, block)
    return index.flip(1).reshape(-1)


@MODELS.register_module()
class CoinFlipMixup(nn.Module):
    """Draws one (λ, coin) per optimizer step: λ ~ Beta(β, β), coin > 0.5 → image mixup, else text.

    The draw is a pure function of (seed, step): every rank computes the same decision without
    communicating, both DGA passes reuse it, and the step counter is a buffer, so it is saved in the
    checkpoint and a resumed run continues the same sequence.

    Args:
        beta: Beta(β, β) parameter (0.1 in ZeroVL: most steps are nearly unmixed).
        mode: ``'coin'`` (ZeroVL), or ``'image'`` / ``'text'`` / ``'both'`` to force the ablations.
        seed: seed of the decision sequence (ZeroVL used 2021).
    """

    def __init__(self, beta: float = 0.1, mode: str = 'coin', seed: int = 2021):
        super().__init__()
        if mode not in MODES:
            raise ValueError(f'model.mixup.mode must be one of {MODES}, got {mode!r}')
        if beta <= 0:
            raise ValueError(f'model.mixup.beta must be positive, got {beta}')
        self.beta, self.mode, self.seed = beta, mode, seed
        self.register_buffer('step', torch.zeros((), dtype=torch.long))
        # The counter as a Python int: reading the buffer (on the GPU in a GPU run) every step would make the
        # host wait for the previous step's kernels. Read once, and again after a checkpoint is loaded.
        self._host_step = None

    def decision_at(self, step: int) -> MixDecision:
        rng = keyed_rng(self.seed, step)
        lam = float(rng.beta(self.beta, self.beta))
        coin = float(rng.random())
        if self.mode == 'coin':
            return MixDecision(lam, mix_image=coin > 0.5, mix_text=coin <= 0.5)
        return MixDecision(lam, mix_image=self.mode in ('image', 'both'), mix_text=self.mode in ('text', 'both'))

    def sample(self) -> MixDecision:
        """The next step's decision; advances the counter (the buffer in place: no host synchronisation)."""
        if self._host_step is None:
            self._host_step = int(self.step)
        decision = self.decision_at(self._host_step)
        self._host_step += 1
        self.step += 1
        return decision

    def _load_from_state_dict(self, *args, **kwargs):
        super()._load_from_state_dict(*args, **kwargs)
        self._host_step = None  # the buffer may hold a resumed run's count now

    def extra_repr(self) -> str:
        return f'beta={self.beta}, mode={self.mode!r}, seed={self.seed}'
