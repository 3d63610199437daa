"""Ending a run while the interpreter is still whole: data-loading workers first, then the process group.

A 2-process gloo run that finished and saved everything sometimes died at exit with "terminate called
without an active exception" (SIGABRT, exit 1). Nothing destroyed the process group, so the gloo backend
(its worker threads, and the work objects that hold tensors referenced from Python) was torn down during
interpreter finalization: destroying those objects then needs the GIL of an interpreter that is already
going away, or finds a worker thread still joinable, and C++ calls ``std::terminate``. Whether it happens
depends on the order in which finalization reaches the objects, hence 1 run in 6. Persistent
``DataLoader`` workers had the same problem in a milder form: they were only shut down by ``__del__`` at
finalization. PyTorch's documentation asks every process to call ``destroy_process_group()`` before it
exits; :func:`finish_run` does that, after shutting the workers down, at the end of ``tools/train.py``
and ``tools/test.py``.
"""
from typing import Iterable, Optional

import torch.distributed as dist


def _dataloaders(runner) -> Iterable:
    """The DataLoaders the Runner's loops built (a loop not used stays a config dict and is skipped)."""
    for name in ('_train_loop', '_val_loop', '_test_loop'):
        loop = getattr(runner, name, None)
        loader = getattr(loop, 'dataloader', None)
        if loader is not None and not isinstance(loop, dict):
            yield loader


def shutdown_dataloader_workers(runner) -> None:
    """Stop the worker processes of every DataLoader the Runner holds (persistent workers outlive their
    epoch and would otherwise be stopped only by garbage collection at interpreter exit)."""
    for loader in _dataloaders(runner):
        iterator = getattr(loader, '_iterator', None)
        if iterator is not None and hasattr(iterator, '_shutdown_workers'):
            iterator._shutdown_workers()
        if hasattr(loader, '_iterator'):
            loader._iterator = None


def destroy_process_group() -> None:
    """Destroy the default process group (and with it every subgroup), if one was started."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def finish_run(runner: Optional[object] = None, launcher: str = 'pytorch') -> None:
    """Shut down the Runner's data-loading workers, then the process group the tool started for
    ``launcher`` (none for ``'none'``: a group that exists then belongs to whoever called the tool)."""
    if runner is not None:
        shutdown_dataloader_workers(runner)
    if launcher != 'none':
        destroy_process_group()
