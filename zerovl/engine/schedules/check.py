"""The start-up check of a learning-rate schedule: refuse one that stalls, naming the key.

Run on the resolved scheduler configs when the train loop is built, so before any batch is read. The
schedulers are built as the Runner builds them, on a one-parameter stand-in optimizer, and refused when

* one spans no step (``end <= begin``), starts at or after the run's end, or ends after it (the rest of
  its shape is never reached);
* a linear warm-up spans fewer than the 2 steps it needs to go from its start factor to its end factor;
* the schedule's last ``end`` comes before the run's end (the tail would train at a frozen lr);
* stepped as ``ParamSchedulerHook`` steps them, the learning rate never reaches its peak (the
  optimizer's configured lr) during the run.
"""
import warnings
from typing import List, Mapping

import torch
from mmengine.optim.scheduler import LinearParamScheduler, OneCycleParamScheduler
from mmengine.optim.scheduler.param_scheduler import INF, ReduceOnPlateauParamScheduler

from zerovl.registry import PARAM_SCHEDULERS
from .positions import MIN_FRACTION_ITERS, RunLength

# Relative shortfall still counted as the peak (a chained LinearLR lands within ~1e-12 of it).
PEAK_TOLERANCE = 1e-6


class ScheduleError(ValueError):
    """A schedule that would stall or not fit the run; the message starts with the config key."""


def build_on_probe(schedulers: List[Mapping], run: RunLength, base_lr: float, key: str = 'param_scheduler'):
    """The schedulers built as the Runner builds them, on a stand-in optimizer whose lr is ``base_lr``.

    MMEngine refuses ``end <= begin`` with a message that names neither the key nor the reason (an
    epoch fraction that rounds to no iteration); that one is reported here."""
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=base_lr)
    built = []
    for index, cfg in enumerate(schedulers):
        if cfg is None:  # left out by resolve_param_schedulers: no iteration of this run
            built.append(None)
            continue
        try:
            built.append(PARAM_SCHEDULERS.build(dict(cfg), default_args=dict(optimizer=optimizer,
                                                                             epoch_length=run.epoch_length)))
        except ValueError as error:
            if 'end should be larger than begin' not in str(error):
                raise
            raise ScheduleError(f'{key}[{index}].end: {cfg["type"]} spans no step on this run ({error}; '
                                f'{run.epoch_length} iterations per epoch); place it with dict(run_fraction=...) '
                                'to follow the run') from None
    return optimizer, built


def unit_of(scheduler) -> str:
    return 'epochs' if scheduler.by_epoch else 'iterations'


def run_total(scheduler, run: RunLength):
    return run.epochs if scheduler.by_epoch else run.iters


def describe(scheduler) -> str:
    end = 'the end' if scheduler.end == INF else scheduler.end
    return f'{type(scheduler).__name__} over {unit_of(scheduler)} {scheduler.begin}..{end}'


def check_span(scheduler, key: str, run: RunLength) -> None:
    """One scheduler's own range against the run."""
    total, unit = run_total(scheduler, run), unit_of(scheduler)
    if scheduler.end != INF and scheduler.end <= scheduler.begin:
        raise ScheduleError(f'{key}.end: {describe(scheduler)} spans no step on this run ({run.epoch_length} '
                            f'iterations per epoch); place it with dict(run_fraction=...) to follow the run')
    if scheduler.begin >= total:
        raise ScheduleError(f'{key}.begin: {describe(scheduler)} starts at or after the run ends ({total} {unit}, '
                            'train_cfg)')
    if scheduler.end != INF and scheduler.end > total:
        raise ScheduleError(f'{key}.end: {describe(scheduler)} ends after the run ({total} {unit}, train_cfg): '
                            'its end is never reached; end=None follows the run')
    is_warmup = isinstance(scheduler, LinearParamScheduler) and scheduler.start_factor != scheduler.end_factor
    if is_warmup and scheduler.end - scheduler.begin < MIN_FRACTION_ITERS:
        raise ScheduleError(f'{key}.end: the linear warm-up ({describe(scheduler)}) never completes: it needs '
                            f'{MIN_FRACTION_ITERS} steps to reach its end factor')


def check_schedule_end(built: list, key: str, run: RunLength) -> None:
    """The last scheduler must end with the run; one with no end (INF) covers it."""
    ends = [(s.end if s.by_epoch is False else s.end * run.epoch_length, index, s)
            for index, s in enumerate(built) if s is not None]
    if not ends or any(s.end == INF for _, _, s in ends):
        return
    last, index, scheduler = max(ends, key=lambda item: item[0])
    if last < run.iters:
        raise ScheduleError(f'{key}[{index}].end: the schedule ends at {unit_of(scheduler)} {scheduler.end}, before '
                            f'the run ends ({run_total(scheduler, run)} {unit_of(scheduler)}, train_cfg): the '
                            'rest would train at a frozen lr; end=None follows the run')


def lr_trajectory_peak(optimizer, built: list, run: RunLength, peak: float) -> float:
    """Step the schedulers as ``ParamSchedulerHook`` does (iteration ones after every iteration, epoch
    ones after every epoch) and return the highest lr a training iteration sees, stopping at the peak."""
    highest = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        for it in range(run.iters):
            lr = optimizer.param_groups[0]['lr']
            highest = max(highest, lr)
            if highest >= peak * (1 - PEAK_TOLERANCE):
                break
            optimizer.step()
            for scheduler in built:
                if not scheduler.by_epoch:
                    scheduler.step()
            if (it + 1) % run.epoch_length == 0:
                for scheduler in built:
                    if scheduler.by_epoch:
                        scheduler.step()
    return highest


def check_reaches_peak(optimizer, built: list, key: str, run: RunLength, peak: float) -> None:
    if any(isinstance(s, (ReduceOnPlateauParamScheduler, OneCycleParamScheduler)) for s in built):
        return  # stepped by metrics / peaking at their own max_lr: not simulated here
    lr_built = [(index, s) for index, s in enumerate(built) if s is not None and s.param_name == 'lr']
    if not lr_built:
        return
    highest = lr_trajectory_peak(optimizer, [s for _, s in lr_built], run, peak)
    if highest < peak * (1 - PEAK_TOLERANCE):
        index, first = lr_built[0]
        raise ScheduleError(f'{key}[{index}].end: the learning rate never reaches its peak {peak:g} in the run\'s '
                            f'{run.iters} iterations (highest {highest:.3g}); {describe(first)}')


def check_param_schedulers(schedulers: List[Mapping], run: RunLength, base_lr: float = 1.0,
                           key: str = 'param_scheduler') -> None:
    """Raise :class:`ScheduleError` naming ``key[i].begin/end`` when the resolved ``schedulers`` (configs,
    as the Runner would build them) do not fit a run of ``run`` or never reach ``base_lr``."""
    optimizer, built = build_on_probe(schedulers, run, base_lr, key)
    for index, scheduler in enumerate(built):
        if scheduler is not None:
            check_span(scheduler, f'{key}[{index}]', run)
    check_schedule_end(built, key, run)
    check_reaches_peak(optimizer, built, key, run, base_lr)
