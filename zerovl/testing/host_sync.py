"""A guard that turns every tensor-to-Python conversion into an error, to prove a code path never waits
for the device.

On a GPU, ``tensor.item()``, ``float(t)``, ``int(t)``, ``bool(t)`` (an ``if`` on a tensor) and
``.tolist()`` / ``.numpy()`` block the host until every queued kernel has run: the CPU then stops queueing
work and the GPU idles at each one. CI has no GPU, so :func:`forbid_host_sync` patches these conversions
on ``torch.Tensor`` to raise :class:`HostSyncError`; the conversions are the same calls on any device, so
a CPU run finds the syncs a GPU run would hit. With CUDA it also sets ``torch.cuda.set_sync_debug_mode``
to ``'error'``, which catches syncs inside kernels' host code (``nonzero``, a ``.cpu()`` copy) too.
"""
from contextlib import contextmanager
from typing import Iterator

import torch

CONVERSIONS = ('item', 'tolist', 'numpy', '__bool__', '__float__', '__int__')


class HostSyncError(RuntimeError):
    """A tensor was converted to a Python value inside a block that must not synchronise."""


def _refuse(name: str):
    def refuse(self, *args, **kwargs):
        raise HostSyncError(f'Tensor.{name}() on a {tuple(self.shape)} tensor: a host synchronisation '
                            'per call on a GPU')
    return refuse


@contextmanager
def forbid_host_sync() -> Iterator[None]:
    """Within the block, converting a tensor to a Python value raises :class:`HostSyncError`."""
    saved = {name: torch.Tensor.__dict__.get(name) for name in CONVERSIONS}
    cuda_mode = torch.cuda.get_sync_debug_mode() if torch.cuda.is_available() else None
    for name in CONVERSIONS:
        setattr(torch.Tensor, name, _refuse(name))
    if cuda_mode is not None:
        torch.cuda.set_sync_debug_mode('error')
    try:
        yield
    finally:
        for name, method in saved.items():
            if method is None:
                delattr(torch.Tensor, name)  # inherited from the C base class: remove the shadow
            else:
                setattr(torch.Tensor, name, method)
        if cuda_mode is not None:
            torch.cuda.set_sync_debug_mode(cuda_mode)
