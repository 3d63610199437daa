"""Which device a run trains and evaluates on: the GPU when there is one, or the one the user pins.

MMEngine decides once, at import, from ``torch.cuda.is_available()`` (``mmengine.device.get_device``):
the Runner moves the model there and ``Runner.resume`` loads checkpoints there. A run that must stay on
the CPU next to a visible GPU (a gloo job, a CPU reference in a test, a GPU busy with something else)
has no say. :func:`pin_device` gives it one, and zerovl's own device choices (the process group's
backend, the mixed-precision recipe) follow the same answer through :func:`training_device`.
"""
from contextlib import contextmanager
from typing import Iterator, Optional

import mmengine.device.utils as mmengine_device
import torch

DEVICE_CHOICES = ('auto', 'cpu', 'cuda')


class DeviceUnavailableError(RuntimeError):
    """The requested device does not exist on this machine."""


def resolve_device(requested: Optional[str] = 'auto', key: str = '--device') -> str:
    """``'cpu'`` or ``'cuda'`` for a request of ``'auto'`` (GPU when visible), ``'cpu'`` or ``'cuda'``.

    ``key`` names where the request came from (a flag or a config key) in the errors."""
    requested = requested or 'auto'
    if requested not in DEVICE_CHOICES:
        raise ValueError(f'{key}={requested!r}: choose one of {", ".join(DEVICE_CHOICES)}')
    if requested == 'auto':
        return 'cuda' if torch.cuda.is_available() else 'cpu'
    if requested == 'cuda' and not torch.cuda.is_available():
        raise DeviceUnavailableError(
            f'{key}=cuda, but no CUDA device is visible here (torch.cuda.is_available() is False: no GPU, '
            f'no driver, or CUDA_VISIBLE_DEVICES hides it); use {key}=cpu or {key}=auto')
    return requested


def pin_device(device: str) -> None:
    """Make MMEngine place models and resumed checkpoints on ``device`` (``'cpu'`` or ``'cuda'``).

    MMEngine reads its device from a module global each time it asks, so setting that global is the
    whole of the pin; nothing in site-packages changes."""
    mmengine_device.DEVICE = resolve_device(device)


def training_device() -> str:
    """The device runs use: the pinned one, else MMEngine's choice."""
    return mmengine_device.get_device()


@contextmanager
def pinned_device(device: str) -> Iterator[str]:
    """:func:`pin_device` for the duration of a block (tests, notebooks), restored afterwards."""
    previous = mmengine_device.DEVICE
    pin_device(device)
    try:
        yield training_device()
    finally:
        mmengine_device.DEVICE = previous


def add_device_argument(parser) -> None:
    """The ``--device`` flag of the tools; it wins over the config's ``device`` key."""
    parser.add_argument('--device', choices=DEVICE_CHOICES, default=None,
                        help="where the model runs: 'auto' (a GPU when one is visible; the default, or the "
                             "config's `device` key), 'cpu' (also next to a visible GPU: gloo for several "
                             "processes) or 'cuda'")


def pin_run_device(cfg, requested: Optional[str] = None) -> str:
    """Pin the device of the run described by ``cfg``: ``requested`` (a flag), else ``cfg.device``, else
    auto. Records the choice as ``cfg.device`` so that it is saved with the config."""
    key = '--device' if requested else 'device (config key)'
    device = resolve_device(requested or cfg.get('device') or 'auto', key)
    pin_device(device)
    cfg.device = device
    return device
