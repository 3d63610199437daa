"""ShardImageTextDataset: img2dataset shards read as they are, debiased over sources (issue 17 b, c)."""
import json
import tarfile
from collections import Counter

import numpy as np
import pytest
import torch

from zerovl.datasets.shards.dataset import shard_batch_collate
from zerovl.datasets.shards.plan import ShardPlan, rank_batch_order
from shard_helpers import batches, make_dataset, make_sources


@pytest.fixture
def shard_root(tmp_path):
    return tmp_path, make_sources(tmp_path)


def test_reads_every_sample_once_with_its_caption_and_image(shard_root, shard_vocab, zerovl_scope):
    root, sources = shard_root
    dataset = make_dataset(root, sources, shard_vocab, batch_size=5, mode='sequential')
    assert len(dataset) == 12  # (40 + 20) / 5
    epoch = batches(dataset, num_workers=0)
    keys = [key for batch in epoch for key in batch['keys']]
    assert len(keys) == len(set(keys)) == 60
    # Sequential: source a first, in shard and sample order; keys are img2dataset's.
    assert keys[:2] == [('a', '000000000'), ('a', '000000001')] and keys[40] == ('b', '000000000')
    loader_item = next(iter(dataset))
    sample = loader_item['samples'][0]
    assert sample['inputs']['images'].shape == (3, 8, 8) and sample['inputs']['images'].dtype == torch.uint8
    # 'synthetic sample 0' -> [CLS] synthetic sample [UNK] [SEP]: the caption came from the .txt member.
    assert sample['inputs']['input_ids'][:5].tolist() == [2, 5, 6, 1, 3]
    batch = shard_batch_collate(loader_item)
    assert batch['inputs']['images'].shape == (5, 3, 8, 8) and batch['stream_state']['batch'] == 1


def test_caption_from_a_json_key(tmp_path, shard_vocab, zerovl_scope):
    sources = make_sources(tmp_path, sizes=(5,), per_shard=(5,))
    path = tmp_path / 'a' / '00000.tar'
    with tarfile.open(path) as tar:  # rewrite: empty .txt, caption only in the json's 'alt' key
        content = [(info, tar.extractfile(info).read()) for info in tar.getmembers()]
    with tarfile.open(path, 'w') as tar:
        for info, data in content:
            if info.name.endswith('.txt'):
                data = b''
            elif info.name.endswith('.json'):
                data = json.dumps(dict(json.loads(data), alt='sample sample')).encode()
            info.size = len(data)
            tar.addfile(info, __import__('io').BytesIO(data))
    dataset = make_dataset(tmp_path, sources, shard_vocab, batch_size=5, caption_key='alt', mode='sequential')
    sample = next(iter(dataset))['samples'][0]
    assert sample['inputs']['input_ids'][:4].tolist() == [2, 6, 6, 3]
    # The same shard read from .txt has no caption at all: a named error in evaluation.
    strict = make_dataset(tmp_path, sources, shard_vocab, batch_size=5, test_mode=True)
    with pytest.raises(Exception, match=r"shard .*00000.tar, key '00000000\d': no caption"):
        next(iter(strict))


def test_debiased_batches_are_single_source_and_the_same_on_every_rank(tmp_path):
    counts = ((10,) * 8, (10,) * 4)
    plans = [ShardPlan(counts, batch_size=5, world_size=2, num_workers=2, seed=3) for _ in range(2)]
    orders = [rank_batch_order([len(plans[0].worker_batches(1, w)) for w in range(2)]) for _ in plans]
    assert orders[0] == orders[1]
    sources = [[plans[rank].worker_batches(1, w)[j] for w, j in orders[rank]] for rank in range(2)]
    assert sources[0] == sources[1]
    assert all(len(batch) == 1 for batch in sources[0])  # one source per batch
    assert Counter(batch[0][0] for batch in sources[0]) == {0: 8, 1: 4}  # every slot's share, once
    # Another epoch, another interleaving of the same batches.
    other = [plans[0].worker_batches(2, w) for w in range(2)]
    assert other != [plans[0].worker_batches(1, w) for w in range(2)]


def test_resampled_sources_are_drawn_in_proportion_to_their_size():
    plan = ShardPlan(((100,) * 30, (100,) * 10), batch_size=4, world_size=2, num_workers=2, seed=0,
                     samples_per_epoch=8 * 4000)
    assert plan.epoch_length(0) == 4000
    drawn = Counter(batch[0][0] for w in range(2) for batch in plan.worker_batches(0, w))
    share = drawn[0] / 4000
    assert abs(share - 0.75) < 0.03, share  # ∝ size (3:1); a uniform draw would give 0.5
    # 'shuffle' mixes sources inside batches, in the same proportion.
    mixed = ShardPlan(plan.counts, batch_size=4, world_size=2, num_workers=2, seed=0, mode='shuffle',
                      samples_per_epoch=8 * 4000)
    compositions = [batch for w in range(2) for batch in mixed.worker_batches(0, w)]
    assert any(len(batch) == 2 for batch in compositions)
    assert abs(sum(n for batch in compositions for s, n in batch if s == 0) / (4 * 4000) - 0.75) < 0.03


def test_shuffle_mode_without_resampling_uses_every_sample_once(shard_root, shard_vocab, zerovl_scope):
    root, sources = shard_root
    dataset = make_dataset(root, sources, shard_vocab, batch_size=6, mode='shuffle')
    keys = [key for batch in batches(dataset, num_workers=0) for key in batch['keys']]
    assert len(keys) == len(set(keys)) == 60
    assert any(len(set(batch['sources'])) == 2 for batch in batches(dataset, num_workers=0))


def test_resampled_epoch_has_the_configured_sample_count(shard_root, shard_vocab, zerovl_scope):
    root, sources = shard_root
    dataset = make_dataset(root, sources, shard_vocab, batch_size=4, num_workers=2, samples_per_epoch=100)
    epoch = batches(dataset)
    assert len(dataset) == len(epoch) == 25
    assert all(len(set(batch['sources'])) == 1 for batch in epoch)


def test_num_workers_must_match_the_loader(shard_root, shard_vocab, zerovl_scope):
    root, sources = shard_root
    dataset = make_dataset(root, sources, shard_vocab, batch_size=5, num_workers=2)
    with pytest.raises(ValueError, match='num_workers=2 but the DataLoader runs 0 workers'):
        next(iter(dataset))


def test_too_few_samples_for_one_batch_is_named(shard_root, shard_vocab, zerovl_scope):
    root, sources = shard_root
    with pytest.raises(ValueError, match='no full batch of 500 samples'):
        make_dataset(root, sources, shard_vocab, batch_size=500)


def test_start_up_reads_only_stats_files(shard_root, shard_vocab, zerovl_scope, monkeypatch):
    root, sources = shard_root
    opened = []
    real_open = tarfile.open
    monkeypatch.setattr(tarfile, 'open', lambda *a, **k: opened.append(a) or real_open(*a, **k))
    dataset = make_dataset(root, sources, shard_vocab, batch_size=5)
    assert len(dataset) == 12 and opened == []
    assert np.sum(dataset.plan.source_sizes) == 60


def test_epoch_length_is_the_same_every_epoch_in_every_mode():
    # The Runner sizes the run from the first epoch's length; shard sizes differ, so a plan that moved
    # shards between readers from epoch to epoch would change it.
    counts = ((7, 3, 9, 4, 8, 6, 5, 2), (10, 1, 6))
    for mode in ('debias', 'shuffle', 'sequential'):
        plan = ShardPlan(counts, batch_size=2, world_size=2, num_workers=1, seed=1, mode=mode)
        assert len({plan.epoch_length(epoch) for epoch in range(6)}) == 1, mode
        assert plan.epoch_length(0) > 0


def test_persistent_workers_follow_set_epoch(shard_root, shard_vocab, zerovl_scope):
    # Persistent workers keep the dataset copy they were forked with; the epoch must still reach them.
    from torch.utils.data import DataLoader

    from shard_helpers import describe, identity
    root, sources = shard_root
    dataset = make_dataset(root, sources, shard_vocab, batch_size=5, num_workers=2)
    loader = DataLoader(dataset, batch_size=None, num_workers=2, collate_fn=identity, persistent_workers=True,
                        multiprocessing_context='fork')
    epochs = []
    for epoch in range(2):
        dataset.set_epoch(epoch)
        epochs.append([describe(batch)['keys'] for batch in loader])
    fresh = make_dataset(root, sources, shard_vocab, batch_size=5, num_workers=2)
    fresh.set_epoch(1)
    assert epochs[1] == [batch['keys'] for batch in batches(fresh)]
    assert epochs[0] != epochs[1]
    assert sorted(key for batch in epochs[0] for key in batch) == sorted(key for batch in epochs[1] for key in batch)
