"""Mixed precision that builds on any machine: fp16 + GradScaler or bf16 on CUDA, bf16 autocast on CPU."""
from contextlib import contextmanager
from typing import Optional, Union

import torch
from mmengine.optim import OptimWrapper
from torch import nn

from zerovl.registry import OPTIM_WRAPPERS
from zerovl.utils.device import training_device


@OPTIM_WRAPPERS.register_module()
class DeviceAmpOptimWrapper(OptimWrapper):
    """Picks the AMP recipe from the device instead of failing without CUDA.

    MMEngine's ``AmpOptimWrapper`` asserts a GPU in ``__init__``, so a config that uses it cannot even be
    built on a CPU-only machine. Here the run's device decides (``zerovl.utils.device``): on CUDA,
    ``dtype`` defaults to float16 with a GradScaler (dynamic, or static with a float ``loss_scale``); on
    CPU, autocast runs in bfloat16, which has float32's exponent range and needs no loss scaling.
    ``dtype='bfloat16'`` on CUDA (``--amp-dtype bfloat16``) autocasts in bf16 without a scaler: no
    ``unscale_``/inf check per step, so no host synchronisation in the scaler's ``update``; it needs a GPU
    with bf16 (Ampere or newer, ``torch.cuda.is_bf16_supported()``) and is refused elsewhere.

    Args:
        dtype: ``'float16'`` or ``'bfloat16'``; None picks by device (fp16 on CUDA, bf16 on CPU).
        loss_scale: ``'dynamic'``, a float (static scale) or GradScaler kwargs; used only with float16.
    """

    def __init__(self, dtype: Optional[str] = None, loss_scale: Union[str, float, dict] = 'dynamic', **kwargs):
        super().__init__(**kwargs)
        self.device_type = training_device()
        if dtype is None:
            dtype = 'float16' if self.device_type == 'cuda' else 'bfloat16'
        if dtype not in ('float16', 'bfloat16'):
            raise ValueError(f'optim_wrapper.dtype must be float16 or bfloat16, got {dtype!r}')
        if dtype == 'float16' and self.device_type == 'cpu':
            raise ValueError('optim_wrapper.dtype=float16 needs CUDA; CPU autocast supports bfloat16')
        # Native bf16 only: emulated bf16 on an older GPU runs, but slower than fp16, defeating the switch.
        if dtype == 'bfloat16' and self.device_type == 'cuda' and not torch.cuda.is_bf16_supported(
                including_emulation=False):
            raise ValueError('optim_wrapper.dtype=bfloat16 (--amp-dtype bfloat16) needs a GPU with bfloat16 '
                             '(Ampere or newer; torch.cuda.is_bf16_supported() is False here): use float16')
        self.cast_dtype = getattr(torch, dtype)
        self._static_scale = None
        self.loss_scaler = None
        if self.cast_dtype is torch.float16:
            self.loss_scaler = self._build_scaler(loss_scale)

    def _build_scaler(self, loss_scale) -> torch.amp.GradScaler:
        if loss_scale == 'dynamic':
            return torch.amp.GradScaler(self.device_type)
        if isinstance(loss_scale, float):
            self._static_scale = loss_scale
            return torch.amp.GradScaler(self.device_type, init_scale=loss_scale)
        if isinstance(loss_scale, dict):
            return torch.amp.GradScaler(self.device_type, **loss_scale)
        raise TypeError(f'optim_wrapper.loss_scale must be "dynamic", a float or a dict, got {loss_scale!r}')

    def backward(self, loss: torch.Tensor, **kwargs) -> None:
        if self.loss_scaler is not None:
            loss = self.loss_scaler.scale(loss)
        loss.backward(**kwargs)
        self._inner_count += 1

    def step(self, **kwargs) -> None:
        if self.loss_scaler is None:
            super().step(**kwargs)
            return
        if self.clip_grad_kwargs:
            self.loss_scaler.unscale_(self.optimizer)
            self._clip_grad()
        self.loss_scaler.step(self.optimizer, **kwargs)
        self.loss_scaler.update(self._static_scale)

    def state_dict(self) -> dict:
        state = super().state_dict()
        if self.loss_scaler is not None:
            state['loss_scaler'] = self.loss_scaler.state_dict()
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state_dict = dict(state_dict)
        scaler_state = state_dict.pop('loss_scaler', None)
        if scaler_state is not None and self.loss_scaler is not None:
            self.loss_scaler.load_state_dict(scaler_state)
        super().load_state_dict(state_dict)

    @contextmanager
    def optim_context(self, model: nn.Module):
        with super().optim_context(model), torch.autocast(self.device_type, dtype=self.cast_dtype):
            yield
