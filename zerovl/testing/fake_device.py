"""Checkpoint tensors that claim to live on a GPU, for CPU-only tests of GPU-only failures.

On a GPU machine MMEngine's ``Runner.resume`` loads a checkpoint onto the current device
(``map_location=get_device()``), so every tensor a hook or a ``load_state_dict`` receives is a CUDA
tensor. Code that assumes host tensors (``.numpy()``, ``np.asarray``, ``torch.set_rng_state``) then
fails there and nowhere else: CI never sees a GPU. :class:`FakeCudaTensor` reproduces exactly those
failures on a CPU: it reports ``device == cuda:0`` and refuses to become a numpy array or an RNG state
with the errors CUDA tensors give, while ``.cpu()``, ``.to(...)``, ``.item()``, ``.tolist()`` and copies
into other tensors work as they do for CUDA tensors. Its data stays in host memory.

:func:`checkpoints_load_as_cuda` makes every ``torch.load`` in a block return such tensors: the
emulation of a resume (or ``load_from``) on a GPU machine.
"""
from contextlib import contextmanager
from typing import Iterator
from unittest import mock

import torch
from torch.utils._pytree import tree_map

FAKE_DEVICE = torch.device('cuda', 0)

# Ops that produce host tensors from a CUDA tensor, or Python values: their results are not wrapped.
_TO_HOST = {torch.ops.aten._to_copy.default, torch.ops.aten._local_scalar_dense.default}


class FakeCudaTensor(torch.Tensor):
    """A host tensor that behaves, for the code that receives it, like a tensor on ``cuda:0``."""

    @staticmethod
    def __new__(cls, inner: torch.Tensor):
        return torch.Tensor._make_wrapper_subclass(
            cls, inner.shape, strides=inner.stride(), dtype=inner.dtype, device=FAKE_DEVICE,
            requires_grad=inner.requires_grad)

    def __init__(self, inner: torch.Tensor):
        self.inner = inner

    def __repr__(self) -> str:
        return f'FakeCudaTensor({self.inner!r})'

    def numpy(self, *args, **kwargs):
        # CUDA's own message, so a test sees what a GPU run would print.
        raise TypeError("can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to copy the "
                        'tensor to host memory first.')

    def __array__(self, *args, **kwargs):
        return self.numpy()

    def tolist(self):
        return self.inner.tolist()  # CUDA tensors copy to the host for this

    @classmethod
    def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        result = func(*tree_map(_unwrap, args), **tree_map(_unwrap, kwargs))
        if func in _TO_HOST and _targets_host(func, kwargs):
            return result
        if func._schema.is_mutable and args and isinstance(args[0], FakeCudaTensor):
            return args[0]  # in place: the wrapper's own data changed
        return tree_map(_wrap, result)


def _unwrap(value):
    return value.inner if isinstance(value, FakeCudaTensor) else value


def _wrap(value):
    return FakeCudaTensor(value) if isinstance(value, torch.Tensor) else value


def _targets_host(func, kwargs) -> bool:
    """``.item()`` always leaves the device; a copy does when it names a host device (or none: a dtype-only
    ``.to`` keeps the device, so that stays on the fake GPU)."""
    if func is torch.ops.aten._local_scalar_dense.default:
        return True
    device = kwargs.get('device')
    return device is not None and torch.device(device).type == 'cpu'


def as_fake_cuda(tree):
    """Every tensor of a (nested) checkpoint as a :class:`FakeCudaTensor`."""
    return tree_map(lambda value: FakeCudaTensor(value) if isinstance(value, torch.Tensor) else value, tree)


def _asks_for_host(map_location) -> bool:
    if isinstance(map_location, (str, torch.device)):
        return torch.device(map_location).type == 'cpu'
    return False


@contextmanager
def checkpoints_load_as_cuda(whatever_is_asked: bool = False) -> Iterator[None]:
    """Within the block, ``torch.load`` behaves as on a GPU machine reading a checkpoint saved from GPU
    tensors: they come back on the GPU unless the caller asks for the host (``map_location='cpu'``).
    ``whatever_is_asked=True`` returns GPU tensors even then: the state a consumer must cope with when
    anyone up the call chain chose the device (a user's ``map_location``, MMEngine's ``resume``)."""
    real_load = torch.load

    def load_onto_fake_gpu(*args, **kwargs):
        asked = kwargs.get('map_location')
        # The data itself is read to the host: this machine has no GPU to put it on.
        loaded = real_load(*args, **dict(kwargs, map_location='cpu'))
        if not whatever_is_asked and _asks_for_host(asked):
            return loaded
        return as_fake_cuda(loaded)

    with mock.patch.object(torch, 'load', load_onto_fake_gpu):
        yield
