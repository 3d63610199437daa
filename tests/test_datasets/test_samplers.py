"""DebiasedBatchSampler: single-dataset global batches, frequencies, rank sharding, epochs, resume."""
import bisect
import itertools
import json

import numpy as np
import pytest
import torch
from mmengine.dataset import BaseDataset, ConcatDataset, DefaultSampler
from mmengine.hooks import Hook
from mmengine.runner import Runner

from zerovl.datasets import DebiasedBatchSampler
from zerovl.testing import run_distributed, tiny_demo_config
from zerovl.utils import register_all_modules

SIGNIFICANCE = 1e-3


class CountingDataset(BaseDataset):
    """``size`` empty samples under a name: all the sampler reads is the length and the name."""

    METAINFO: dict = dict()

    def __init__(self, size: int, name: str):
        self.size, self.name = size, name
        super().__init__(serialize_data=False)

    def load_data_list(self):
        return [dict() for _ in range(self.size)]


def concat(*sizes: int) -> ConcatDataset:
    return ConcatDataset([CountingDataset(size, f'd{i}') for i, size in enumerate(sizes)])


def build(dataset, batch_size=8, rank=0, world_size=1, seed=0, **kwargs) -> DebiasedBatchSampler:
    return DebiasedBatchSampler(DefaultSampler(dataset, shuffle=True, seed=seed), batch_size,
                                rank=rank, world_size=world_size, **kwargs)


def rank_samplers(dataset, world_size, **kwargs):
    return [build(dataset, rank=rank, world_size=world_size, **kwargs) for rank in range(world_size)]


def source_of(dataset: ConcatDataset, index: int) -> int:
    return bisect.bisect_right(dataset.cumulative_sizes, index)


def chi2_pvalue(counts, probabilities) -> float:
    """Pearson's goodness-of-fit p-value (scipy is not a dependency; torch has the incomplete gamma)."""
    counts = np.asarray(counts, dtype=np.float64)
    expected = counts.sum() * np.asarray(probabilities, dtype=np.float64)
    statistic = float(((counts - expected) ** 2 / expected).sum())
    dof = len(counts) - 1
    return float(torch.special.gammaincc(torch.tensor(dof / 2, dtype=torch.float64),
                                         torch.tensor(statistic / 2, dtype=torch.float64)))


def dataset_counts(sampler, epochs) -> np.ndarray:
    counts = np.zeros(len(sampler.groups), dtype=np.int64)
    for epoch in epochs:
        for planned in sampler.plan(epoch):
            counts[planned.dataset] += 1
    return counts


# ---- frequencies ------------------------------------------------------------------------------------

SIZES = (3200, 1000)


def test_zerovl_draw_matches_size_proportions():
    sampler = build(concat(*SIZES), exhaustive=False)
    counts = dataset_counts(sampler, range(10))
    assert counts.sum() == 10 * len(sampler)
    assert chi2_pvalue(counts, np.array(SIZES) / sum(SIZES)) > SIGNIFICANCE
    # Negative control: the same counts reject a wrong distribution.
    assert chi2_pvalue(counts, [0.7, 0.3]) < SIGNIFICANCE


def test_custom_weights_set_the_frequencies():
    sampler = build(concat(*SIZES), weights=[1, 3])
    assert not sampler.exhaustive
    counts = dataset_counts(sampler, range(10))
    assert chi2_pvalue(counts, [0.25, 0.75]) > SIGNIFICANCE
    assert chi2_pvalue(counts, np.array(SIZES) / sum(SIZES)) < SIGNIFICANCE


def test_exhaustive_default_takes_every_full_batch_once_in_random_order():
    dataset = concat(*SIZES)
    sampler = build(dataset)
    assert sampler.exhaustive
    assert dataset_counts(sampler, [0]).tolist() == [400, 125]
    # The interleaving is random, not blocked: across epochs the dataset of the first step is
    # distributed ∝ size, which 'sequential' (always dataset 0 first) fails.
    p = np.array(SIZES) / sum(SIZES)
    first = np.bincount([sampler.plan(epoch)[0].dataset for epoch in range(400)], minlength=2)
    assert chi2_pvalue(first, p) > SIGNIFICANCE
    sequential = build(dataset, mode='sequential')
    first = np.bincount([sequential.plan(epoch)[0].dataset for epoch in range(400)], minlength=2)
    assert chi2_pvalue(first, p) < SIGNIFICANCE


# ---- rank sharding ----------------------------------------------------------------------------------

@pytest.mark.parametrize('world_size', [2, 4])
@pytest.mark.parametrize('options', [dict(), dict(exhaustive=False), dict(weights=[2, 1, 1])],
                         ids=['exhaustive', 'zerovl-draw', 'weights'])
def test_every_global_batch_is_one_dataset_and_ranks_agree(world_size, options):
    dataset = concat(300, 130, 70)
    samplers = rank_samplers(dataset, world_size, batch_size=4, **options)
    assert len({len(sampler) for sampler in samplers}) == 1
    plans = [sampler.plan(2) for sampler in samplers]
    for step in zip(*plans):
        assert len({planned.dataset for planned in step}) == 1
        global_batch = [index for planned in step for index in planned.indices]
        assert len(global_batch) == 4 * world_size == len(set(global_batch))
        assert {source_of(dataset, index) for index in global_batch} == {step[0].dataset}


@pytest.mark.parametrize('world_size', [2, 4])
def test_exhaustive_epoch_covers_all_full_batches_without_repeats(world_size):
    dataset = concat(300, 130, 70)
    samplers = rank_samplers(dataset, world_size, batch_size=4)
    seen = [index for sampler in samplers for batch in sampler for index in batch]
    assert len(seen) == len(set(seen))
    global_batch = 4 * world_size
    per_dataset = np.bincount([source_of(dataset, index) for index in seen], minlength=3)
    assert per_dataset.tolist() == [size // global_batch * global_batch for size in (300, 130, 70)]
    assert len(samplers[0]) == sum(size // global_batch for size in (300, 130, 70))


def test_zerovl_draw_restarts_an_exhausted_dataset_with_a_new_order():
    # Weight 1:1 on sizes 160:16 asks for ~11 batches of a dataset that holds 2 per pass.
    sampler = build(concat(160, 16), weights=[1, 1])
    small = [planned.indices for planned in sampler.plan(0) if planned.dataset == 1]
    assert len(small) > 4
    passes = [sorted(small[i] + small[i + 1]) for i in range(0, len(small) - 1, 2)]
    assert all(indices == list(range(160, 176)) for indices in passes)  # each pass covers the dataset once
    assert small[0:2] != small[2:4]  # ... in a new order


def test_small_dataset_is_named_and_never_drawn():
    with pytest.warns(UserWarning, match="'d1' has 5 samples"):
        sampler = build(concat(64, 5), batch_size=4, world_size=2)
    assert len(sampler) == 8
    assert {planned.dataset for planned in sampler.plan(0)} == {0}


# ---- epochs and seeds -------------------------------------------------------------------------------

@pytest.mark.parametrize('mode', ['debias', 'shuffle', 'sequential'])
def test_epoch_and_seed_set_the_order(mode):
    sampler = build(concat(120, 40), mode=mode)
    sampler.set_epoch(1)
    first = list(sampler)
    assert list(sampler) == first  # same epoch, same order
    sampler.set_epoch(2)
    assert sampler.sampler.epoch == 2  # forwarded, so DistSamplerSeedHook and we agree
    assert list(sampler) != first
    other_seed = build(concat(120, 40), mode=mode, seed=1)
    other_seed.set_epoch(1)
    assert list(other_seed) != first


def test_epoch_follows_the_wrapped_sampler():
    # DistSamplerSeedHook calls dataloader.batch_sampler.sampler.set_epoch, not ours.
    sampler = build(concat(120, 40))
    sampler.sampler.set_epoch(3)
    assert sampler.epoch == 3 and list(sampler) == [planned.indices for planned in sampler.plan(3)]


def test_seed_defaults_to_the_wrapped_samplers():
    assert build(concat(120, 40), seed=7).seed == 7
    sampler = DebiasedBatchSampler(DefaultSampler(concat(120, 40), seed=7), 8, seed=11)
    assert sampler.seed == 11


# ---- modes ------------------------------------------------------------------------------------------

def test_shuffle_mode_mixes_datasets_over_one_permutation():
    dataset = concat(300, 130, 70)
    samplers = rank_samplers(dataset, 2, batch_size=4, mode='shuffle')
    assert len(samplers[0]) == 500 // 8
    seen = [index for sampler in samplers for batch in sampler for index in batch]
    assert len(seen) == len(set(seen)) == 500 // 8 * 8
    mixed = [batch for batch in samplers[0] if len({source_of(dataset, i) for i in batch}) > 1]
    assert mixed


def test_sequential_mode_runs_each_dataset_shuffled_in_turn():
    dataset = concat(300, 130, 70)
    sampler = build(dataset, batch_size=10, mode='sequential')
    plan = sampler.plan(0)
    assert [planned.dataset for planned in plan] == [0] * 30 + [1] * 13 + [2] * 7
    first_dataset = [index for planned in plan[:30] for index in planned.indices]
    assert sorted(first_dataset) == list(range(300)) and first_dataset != list(range(300))


def test_single_dataset_is_one_group():
    sampler = build(CountingDataset(100, 'only'), batch_size=8)
    assert len(sampler) == 12
    assert {planned.dataset for planned in sampler.plan(0)} == {0}


# ---- configuration errors ---------------------------------------------------------------------------

@pytest.mark.parametrize('options, message', [
    (dict(weights=[1.0]), r'batch_sampler\.weights has 1 entries .* 2 dataset'),
    (dict(weights=[1.0, 0.0]), r'batch_sampler\.weights must be positive'),
    (dict(weights=[1.0, 2.0], exhaustive=True), r'exhaustive=True'),
    (dict(mode='random'), r'batch_sampler\.mode'),
    (dict(mode='shuffle', weights=[1, 1]), r"only apply to mode='debias'"),
    (dict(batch_size=200), r'no full global batch of 200'),
])
def test_configuration_errors_name_the_key(options, message):
    with pytest.raises(ValueError, match=message):
        build(concat(120, 40), **options)


# ---- resume -----------------------------------------------------------------------------------------

@pytest.mark.parametrize('options', [dict(), dict(exhaustive=False), dict(weights=[1, 4]),
                                     dict(mode='shuffle'), dict(mode='sequential')],
                         ids=['exhaustive', 'zerovl-draw', 'weights', 'shuffle', 'sequential'])
def test_resume_continues_with_the_exact_next_batch(options):
    dataset = concat(300, 70)
    uninterrupted = build(dataset, **options)
    uninterrupted.set_epoch(3)
    expected = list(uninterrupted)

    interrupted = build(dataset, **options)
    interrupted.set_epoch(3)
    batches = iter(interrupted)
    head = list(itertools.islice(batches, 11))
    state = interrupted.state_dict()
    assert state['epoch'] == 3 and state['position'] == 11
    json.dumps(state)  # plain data only

    resumed = build(dataset, seed=123, **options)  # the saved seed wins
    resumed.load_state_dict(state)
    assert resumed.epoch == 3 and resumed.state_dict() == state
    assert head + list(resumed) == expected
    assert resumed.state_dict()['position'] == len(expected)
    # The resume applies once; the next epoch starts at its beginning.
    resumed.set_epoch(4)
    uninterrupted.set_epoch(4)
    assert list(resumed) == list(uninterrupted)


def test_resume_does_not_replay_skipped_batches(monkeypatch):
    sampler = build(concat(300, 70))
    state = dict(sampler.state_dict(), position=40)
    sampler.load_state_dict(state)
    calls = []
    original = DebiasedBatchSampler._rank_share
    monkeypatch.setattr(DebiasedBatchSampler, '_rank_share',
                        lambda self, *args: calls.append(args) or original(self, *args))
    assert len(list(sampler)) == len(sampler) - 40 == len(calls)


def test_resume_across_world_sizes_with_the_same_global_batch():
    dataset = concat(300, 70)
    two_ranks = rank_samplers(dataset, 2, batch_size=8)
    four_ranks = rank_samplers(dataset, 4, batch_size=4)
    state = dict(two_ranks[0].state_dict(), position=5)
    for sampler in four_ranks:
        sampler.load_state_dict(state)
    resumed = [sorted(itertools.chain.from_iterable(step)) for step in zip(*four_ranks)]
    expected = [sorted(itertools.chain.from_iterable(step)) for step in zip(*two_ranks)][5:]
    assert resumed == expected


@pytest.mark.parametrize('sizes, options, message', [
    ((300, 70), dict(batch_size=4), 'global_batch_size=8'),
    ((300, 71), dict(), r'dataset_sizes=\[300, 70\]'),
    ((300, 70), dict(mode='shuffle'), "mode='debias'"),
    ((300, 70), dict(exhaustive=False), 'exhaustive=True'),
])
def test_incompatible_state_is_refused(sizes, options, message):
    state = build(concat(300, 70), batch_size=8).state_dict()
    with pytest.raises(ValueError, match=message):
        build(concat(*sizes), **options).load_state_dict(state)


def test_state_with_other_weights_is_refused():
    state = build(concat(300, 70), weights=[1, 2]).state_dict()
    with pytest.raises(ValueError, match='probabilities'):
        build(concat(300, 70), weights=[1, 3]).load_state_dict(state)


# ---- two real processes -----------------------------------------------------------------------------

def _rank_plan(rank, world_size):
    # Built as the Runner builds it: DefaultSampler reads the process group and broadcasts rank 0's seed.
    sampler = DefaultSampler(concat(300, 130, 70), shuffle=True)
    batch_sampler = DebiasedBatchSampler(sampler, batch_size=4)
    batch_sampler.set_epoch(1)
    return dict(rank=batch_sampler.rank, world_size=batch_sampler.world_size,
                plan=[(planned.dataset, planned.indices) for planned in batch_sampler.plan()])


def test_two_processes_agree_on_datasets_and_split_the_indices():
    results = run_distributed(_rank_plan, 2)
    assert [(r['rank'], r['world_size']) for r in results] == [(0, 2), (1, 2)]
    plans = [r['plan'] for r in results]
    assert len(plans[0]) == len(plans[1]) == 300 // 8 + 130 // 8 + 70 // 8
    assert [d for d, _ in plans[0]] == [d for d, _ in plans[1]]
    indices = [set(i for _, batch in plan for i in batch) for plan in plans]
    assert not indices[0] & indices[1]


# ---- a real Runner ----------------------------------------------------------------------------------

class BatchSourceRecorder(Hook):
    """Records, per epoch, each training batch's (dataset_name, sample_idx) pairs."""

    def __init__(self):
        self.epochs = {}

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        samples = data_batch['data_samples']
        batch = [(sample['dataset_name'], sample['sample_idx']) for sample in samples]
        self.epochs.setdefault(runner.epoch, []).append(batch)


def test_runner_trains_two_epochs_with_single_dataset_batches(synthetic_root, tmp_path):
    register_all_modules()
    cfg = tiny_demo_config(synthetic_root, str(tmp_path), max_epochs=2, batch_size=8)
    cfg.train_dataloader.pop('drop_last')  # torch's DataLoader refuses it next to a batch_sampler
    cfg.train_dataloader.sampler = dict(type='DefaultSampler', shuffle=True)
    cfg.train_dataloader.batch_sampler = dict(type='DebiasedBatchSampler')
    cfg.train_cfg.val_begin = 3  # only the training order matters here
    runner = Runner.from_cfg(cfg)
    recorder = BatchSourceRecorder()
    runner.register_hook(recorder)
    runner.train()

    batch_sampler = runner.train_dataloader.batch_sampler
    assert isinstance(batch_sampler, DebiasedBatchSampler)
    sizes = {group.name.strip("'"): group.size for group in batch_sampler.groups}
    assert len(runner.train_dataloader) == sum(size // 8 for size in sizes.values())
    assert sorted(recorder.epochs) == [0, 1]
    for batches in recorder.epochs.values():
        assert len(batches) == len(batch_sampler)
        assert all(len({name for name, _ in batch}) == 1 for batch in batches)
        per_dataset = {name: sum(batch[0][0] == name for batch in batches) for name in sizes}
        assert per_dataset == {name: size // 8 for name, size in sizes.items()}
    # DistSamplerSeedHook reached the epoch through batch_sampler.sampler: epoch 2 is a new order.
    assert batch_sampler.epoch == 1
    assert recorder.epochs[0] != recorder.epochs[1]
