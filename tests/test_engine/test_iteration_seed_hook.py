"""The batch loaded first after a mid-epoch resume sees the random state it saw in the uninterrupted run."""
import random
from types import SimpleNamespace

import numpy as np
import torch
from torch.utils.data import DataLoader

from zerovl.engine.hooks import IterationSeedHook


def fake_runner(iteration: int, epoch: int = 0):
    return SimpleNamespace(seed=7, iter=iteration, epoch=epoch, train_dataloader=DataLoader(range(8)))


def draws():
    """What a main-process pipeline would draw from each global generator."""
    return torch.rand(3).tolist(), np.random.random(3).tolist(), [random.random() for _ in range(3)]


def test_resumed_epoch_start_matches_the_uninterrupted_fetch():
    hook = IterationSeedHook()
    # Uninterrupted: iteration 4 ends, then the loader fetches batch 5.
    hook.after_train_iter(fake_runner(4), batch_idx=4)
    uninterrupted = draws()
    # Resumed at iteration 5: the epoch starts, the loader's iterator is created, batch 5 is fetched.
    resumed_runner = fake_runner(5)
    hook.before_train_epoch(resumed_runner)
    iter(resumed_runner.train_dataloader)  # draws its workers' base seed, from the loader's own generator
    assert draws() == uninterrupted


def test_streams_differ_between_iterations_and_between_step_and_fetch():
    hook = IterationSeedHook()
    hook.after_train_iter(fake_runner(4), batch_idx=4)
    fetch_5 = draws()
    hook.before_train_iter(fake_runner(5), batch_idx=5)
    step_5 = draws()
    hook.after_train_iter(fake_runner(5), batch_idx=5)
    assert len({str(fetch_5), str(step_5), str(draws())}) == 3
