"""Shards split by rank and worker (issue 17 e): 2 gloo processes x 2 DataLoader workers read every
sample of a one-pass epoch exactly once, and every global batch comes from one source."""
import os
import sys

from zerovl.testing import run_distributed

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from shard_helpers import batches, make_dataset, make_sources  # noqa: E402


def read_one_epoch(rank, world_size, root, vocab, mode):
    from mmengine.registry import DefaultScope

    import zerovl.datasets  # noqa: F401  (registers the transforms)
    with DefaultScope.overwrite_default_scope('zerovl'):
        # rank and world_size come from the process group, as in training.
        dataset = make_dataset(root, [dict(name='a', path='a'), dict(name='b', path='b')], vocab, batch_size=5,
                               num_workers=2, mode=mode, rank=None, world_size=None)
        dataset.set_epoch(3)
        epoch = batches(dataset)
        return dict(rank=dataset.rank, length=len(dataset), sources=[batch['sources'] for batch in epoch],
                    keys=[key for batch in epoch for key in batch['keys']])


def test_two_ranks_two_workers_read_every_sample_exactly_once(tmp_path, shard_vocab):
    # 'a': 8 shards of 5 (10 samples per slot), 'b': 4 shards of 5 (5 per slot): nothing is dropped.
    make_sources(tmp_path, sizes=(40, 20), per_shard=(5, 5))
    results = run_distributed(read_one_epoch, 2, str(tmp_path), shard_vocab, 'debias')
    assert [result['rank'] for result in results] == [0, 1]
    assert results[0]['length'] == results[1]['length'] == len(results[0]['sources']) == 6
    keys = results[0]['keys'] + results[1]['keys']
    assert len(keys) == len(set(keys)) == 60  # every sample once, no rank overlap
    assert not set(results[0]['keys']) & set(results[1]['keys'])
    # Global batch j: both ranks' halves come from the same single source.
    for first, second in zip(results[0]['sources'], results[1]['sources']):
        assert len(set(first + second)) == 1
    # Negative control: the two sources really are interleaved, not one after the other.
    order = [batch[0] for batch in results[0]['sources']]
    assert order != sorted(order)
