"""SamplerSeedHook, the default ``sampler_seed`` hook: MMEngine's per-epoch ``set_epoch``, also on a loader
that has no sampler (a dataset that batches itself); tests/test_engine/test_shard_training.py trains one
with the default hooks."""
import types

import pytest
import torch
from mmengine.dataset import DefaultSampler
from mmengine.hooks import DistSamplerSeedHook
from torch.utils.data import ConcatDataset, DataLoader, IterableDataset, TensorDataset

from zerovl.datasets.samplers import DebiasedBatchSampler
from zerovl.engine.hooks import SamplerSeedHook


class SelfBatching(IterableDataset):
    def __iter__(self):
        yield torch.zeros(4)


def at_epoch(loader, epoch):
    return types.SimpleNamespace(train_loop=types.SimpleNamespace(dataloader=loader), epoch=epoch)


def dataset(size=8):
    return TensorDataset(torch.arange(size))


def test_a_loader_without_a_sampler_is_left_alone_where_mmengine_fails():
    loader = DataLoader(SelfBatching(), batch_size=None)
    SamplerSeedHook().before_train_epoch(at_epoch(loader, 3))
    with pytest.raises(AttributeError):  # the negative control: batch_sampler is None
        DistSamplerSeedHook().before_train_epoch(at_epoch(loader, 3))


def test_a_sampler_gets_the_epoch():
    sampler = DefaultSampler(dataset(), shuffle=True, seed=0)
    SamplerSeedHook().before_train_epoch(at_epoch(DataLoader(dataset(), sampler=sampler, batch_size=2), 3))
    assert sampler.epoch == 3


def test_a_batch_samplers_sampler_gets_the_epoch():
    data = ConcatDataset([dataset(8), dataset(8)])
    sampler = DefaultSampler(data, shuffle=True, seed=0)
    loader = DataLoader(data, batch_sampler=DebiasedBatchSampler(sampler, batch_size=4))
    SamplerSeedHook().before_train_epoch(at_epoch(loader, 3))
    assert sampler.epoch == 3
