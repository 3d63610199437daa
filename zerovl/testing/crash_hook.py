"""A hook that kills its own training process at a chosen point, for crash-and-resume tests."""
import os
import signal

from mmengine.hooks import Hook

from zerovl.registry import HOOKS


@HOOKS.register_module()
class KillAfterCheckpointHook(Hook):
    """SIGKILLs the process right after iteration ``iteration`` (counted from 1) and its checkpoint.

    SIGKILL cannot be caught: no ``finally`` block, ``atexit`` handler or buffered write runs, as when
    a job is pre-empted or runs out of memory. Killing from inside the run makes the point of death
    exact, where killing from outside (polling the work dir) would race with training.
    """

    # After every other after_train_iter, in particular CheckpointHook's save (VERY_LOW).
    priority = 'LOWEST'

    def __init__(self, iteration: int):
        self.iteration = iteration

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if runner.iter + 1 == self.iteration:
            os.kill(os.getpid(), signal.SIGKILL)
