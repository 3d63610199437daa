from .check import ScheduleError, check_param_schedulers
from .positions import MIN_FRACTION_ITERS, RunLength, resolve_param_schedulers
from .settle import settle_param_schedulers

__all__ = ['MIN_FRACTION_ITERS', 'RunLength', 'ScheduleError', 'check_param_schedulers', 'resolve_param_schedulers',
           'settle_param_schedulers']
