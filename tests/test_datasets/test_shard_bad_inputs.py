"""The bad-input policy on shards (issue 17 d): skip and count in training, a named error in evaluation."""
import os
import tarfile

import pytest

from zerovl.datasets.converters.shard_writer import ShardSample, write_shards
from zerovl.datasets.converters.shards_convert import write_synthetic_shards
from zerovl.datasets.errors import ShardSampleError, TooManyBadSamplesError
from shard_helpers import batches, make_dataset, make_sources


def damaged_source(folder):
    """10 samples in 2 shards: sample 3 has bytes that are no image, sample 6 has a blank caption."""
    write_synthetic_shards(str(folder) + '_good', 1, 1)
    with tarfile.open(os.path.join(str(folder) + '_good', '00000.tar')) as tar:
        jpeg = tar.extractfile(tar.getmember('000000000.jpg')).read()

    def read_inputs(start, stop):
        for index in range(start, stop):
            yield ShardSample(b'not an image' if index == 3 else jpeg,
                              '   ' if index == 6 else f'synthetic sample {index}', {})
    write_shards(str(folder), 10, 5, read_inputs, source='damaged')


def test_training_skips_and_counts_corrupt_image_and_missing_caption(tmp_path, shard_vocab, zerovl_scope):
    damaged_source(tmp_path / 'a')
    dataset = make_dataset(tmp_path, [dict(name='a', path='a')], shard_vocab, batch_size=4, mode='sequential',
                           max_skip_ratio=0.5)
    epoch = batches(dataset, num_workers=0)
    keys = [key for batch in epoch for _, key in batch['keys']]
    assert '000000003' not in keys and '000010001' not in keys  # samples 3 and 6
    assert len(epoch) == 2 and len(keys) == 8  # replaced by the next good ones of the same stream
    counts = dataset.policy.counts
    assert counts['samples_skipped'] == 2 and counts['rows_read'] == 10


def test_evaluation_names_shard_and_key(tmp_path, shard_vocab, zerovl_scope):
    damaged_source(tmp_path / 'a')
    dataset = make_dataset(tmp_path, [dict(name='a', path='a')], shard_vocab, batch_size=4, mode='sequential',
                           test_mode=True)
    with pytest.raises(ShardSampleError) as error:
        batches(dataset, num_workers=0)
    assert error.value.key == '000000003' and error.value.shard.endswith('a/00000.tar')
    assert 'OpenCV cannot decode' in str(error.value) or 'cannot decode' in str(error.value)


def test_missing_and_truncated_shards_are_skipped_and_counted(tmp_path, shard_vocab, zerovl_scope):
    sources = make_sources(tmp_path, sizes=(40,), per_shard=(5,))
    os.remove(tmp_path / 'a' / '00002.tar')
    data = (tmp_path / 'a' / '00005.tar').read_bytes()
    (tmp_path / 'a' / '00005.tar').write_bytes(data[:len(data) // 2])
    dataset = make_dataset(tmp_path, sources, shard_vocab, batch_size=4, mode='sequential', max_skip_ratio=0.5)
    keys = [key for batch in batches(dataset, num_workers=0) for _, key in batch['keys']]
    assert not any(key.startswith('00002') for key in keys)
    assert len([key for key in keys if key.startswith('00005')]) < 5
    counts = dataset.policy.counts
    assert counts['samples_skipped'] == 2  # two shards, each recorded once
    assert counts['samples_lost'] >= 4 + 1  # the missing shard's 5 samples count 5 toward the ratio
    # With the default limit (1 %), losing a shard of 40 samples stops training with the counts.
    strict = make_dataset(tmp_path, sources, shard_vocab, batch_size=4, mode='sequential')
    with pytest.raises(TooManyBadSamplesError, match='exceeds max_skip_ratio=0.01'):
        batches(strict, num_workers=0)
    # In evaluation the missing shard is a named error.
    evaluation = make_dataset(tmp_path, sources, shard_vocab, batch_size=4, mode='sequential', test_mode=True)
    with pytest.raises(ShardSampleError, match=r'shard .*00002.tar: shard cannot be opened'):
        batches(evaluation, num_workers=0)
