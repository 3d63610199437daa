"""PromptIterBasedTrainLoop's iterator: MMEngine's batches and epochs, without the sleep at each restart."""
import time

import torch
from mmengine.dataset import DefaultSampler
from mmengine.runner.loops import _InfiniteDataloaderIterator
from torch.utils.data import DataLoader

from zerovl.datasets.samplers import DebiasedBatchSampler
from zerovl.engine.prompt_iter_loop import PromptRestartIterator


class EpochSampler(torch.utils.data.Sampler):
    """A sampler whose order depends on the epoch it is told, so a missed set_epoch shows."""

    def __init__(self, size):
        self.size, self.epoch = size, 0

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __iter__(self):
        return iter(torch.randperm(self.size, generator=torch.Generator().manual_seed(self.epoch)).tolist())

    def __len__(self):
        return self.size


def batches(iterator_type, count, monkeypatch, sleeps):
    monkeypatch.setattr(time, 'sleep', lambda seconds: sleeps.append(seconds))
    loader = DataLoader(list(range(10)), batch_size=4, sampler=EpochSampler(10), drop_last=True)
    iterator = iterator_type(loader)
    return [next(iterator).tolist() for _ in range(count)], loader.sampler.epoch


def test_same_batches_and_epochs_as_mmengine_without_sleeping(monkeypatch):
    mmengine_sleeps, our_sleeps = [], []
    expected, expected_epoch = batches(_InfiniteDataloaderIterator, 7, monkeypatch, mmengine_sleeps)
    got, epoch = batches(PromptRestartIterator, 7, monkeypatch, our_sleeps)
    assert got == expected and epoch == expected_epoch == 3
    assert mmengine_sleeps == [2, 2, 2] and our_sleeps == []
    assert len({tuple(b) for b in got[:2]} | {tuple(b) for b in got[2:4]}) == 4  # epochs differ


def test_debiased_batch_sampler_advances_its_epoch(monkeypatch):
    monkeypatch.setattr(time, 'sleep', lambda seconds: None)
    dataset = torch.utils.data.ConcatDataset([list(range(12)), list(range(100, 106))])
    sampler = DefaultSampler(dataset, shuffle=True, seed=0)
    batch_sampler = DebiasedBatchSampler(sampler, batch_size=3, mode='debias')
    loader = DataLoader(dataset, batch_sampler=batch_sampler)
    ours = PromptRestartIterator(loader)
    first_epoch = [next(ours).tolist() for _ in range(len(batch_sampler))]
    second_epoch = [next(ours).tolist() for _ in range(len(batch_sampler))]
    assert batch_sampler.epoch == 1
    assert sorted(sum(first_epoch, [])) == sorted(sum(second_epoch, []))
    assert first_epoch != second_epoch


def test_loaders_with_workers_keep_mmengine_behaviour(monkeypatch):
    sleeps = []
    monkeypatch.setattr(time, 'sleep', lambda seconds: sleeps.append(seconds))
    loader = DataLoader(list(range(4)), batch_size=4, num_workers=1)
    iterator = PromptRestartIterator(loader)
    next(iterator), next(iterator)
    assert sleeps == [2]
