"""Fit the Runner's ``param_scheduler`` to the run when the train loop is built, and check it.

``Runner.train`` builds the train loop (and with it the dataloader) before the schedulers, so the loop
is the first place where the run's length in iterations is known and the schedulers are still configs.
zerovl's train loops call :func:`settle_param_schedulers` from their constructor.
"""
from typing import Mapping, Optional

from mmengine.logging import print_log
from mmengine.optim.scheduler.param_scheduler import _ParamScheduler

from .check import check_param_schedulers
from .positions import RunLength, resolve_param_schedulers


def configured_lr(optim_wrapper) -> float:
    """The optimizer's lr from the config (the schedule's peak); 1.0 when it is not a plain number."""
    optimizer = optim_wrapper.get('optimizer') if isinstance(optim_wrapper, Mapping) else None
    lr = optimizer.get('lr') if isinstance(optimizer, Mapping) else None
    return float(lr) if isinstance(lr, (int, float)) and lr > 0 else 1.0


def settle_list(schedulers, run: RunLength, base_lr: float, key: str):
    if isinstance(schedulers, Mapping):
        schedulers = [schedulers]
    if any(isinstance(s, _ParamScheduler) for s in schedulers):
        return schedulers  # built by the caller: neither resolved nor checked
    resolved = resolve_param_schedulers(list(schedulers), run, key)
    check_param_schedulers(resolved, run, base_lr, key)
    for index, scheduler in enumerate(resolved):
        if scheduler is None:
            print_log(f'{key}[{index}] ({schedulers[index]["type"]}) has no iteration left on this run of '
                      f'{run.iters} and is left out', logger='current')
    return [scheduler for scheduler in resolved if scheduler is not None]


def settle_param_schedulers(runner, run: RunLength) -> Optional[object]:
    """Replace ``runner.param_schedulers`` (configs) by their resolved copies, after checking them.

    A dict of lists (one per optimizer, MMEngine's multi-optimizer form) is settled list by list."""
    schedulers = runner.param_schedulers
    if not schedulers:
        return schedulers
    if isinstance(schedulers, Mapping) and 'type' not in schedulers:
        settled = {name: settle_list(value, run, 1.0, f'param_scheduler.{name}') for name, value in schedulers.items()}
    else:
        settled = settle_list(schedulers, run, configured_lr(runner.optim_wrapper), 'param_scheduler')
    runner.param_schedulers = settled
    print_log(f'param_scheduler fitted to a run of {run.iters} iterations ({run.epoch_length} per epoch): '
              + '; '.join(describe_cfg(s) for s in (settled if isinstance(settled, list) else [])),
              logger='current')
    return settled


def describe_cfg(scheduler) -> str:
    if not isinstance(scheduler, Mapping):
        return type(scheduler).__name__
    unit = 'epochs' if scheduler.get('by_epoch', True) else 'iterations'
    return f"{scheduler['type']} {unit} {scheduler.get('begin', 0)}..{scheduler.get('end')}"
