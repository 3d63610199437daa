"""Exact mid-epoch resume of shard streams (issue 17 f): a run killed with SIGKILL and resumed from the
state it saved sees exactly the batches the uninterrupted run saw after that point, with 2 workers."""
import json
import signal
import subprocess
import sys

import pytest

from shard_helpers import batches, make_dataset, make_sources

SCRIPT = 'tests/test_datasets/shard_resume_script.py'


def run(root, vocab, log, *extra, returncode=0):
    process = subprocess.run([sys.executable, SCRIPT, str(root), vocab, str(log), *extra],
                             capture_output=True, text=True, timeout=300)
    assert process.returncode == returncode, process.stderr[-3000:]
    return [json.loads(line) for line in open(log)]


def test_killed_run_resumes_with_the_same_remaining_batches(tmp_path, shard_vocab):
    make_sources(tmp_path, sizes=(40, 20), per_shard=(5, 5))
    extra = []
    straight = run(tmp_path, shard_vocab, tmp_path / 'straight.log', *extra)
    killed = run(tmp_path, shard_vocab, tmp_path / 'killed.log', '--kill-after', '5', *extra,
                 returncode=-signal.SIGKILL)
    assert killed == straight[:5]
    resumed = run(tmp_path, shard_vocab, tmp_path / 'killed.log', '--resume', *extra)
    assert resumed == straight  # the killed run's 5 batches, then exactly the rest
    assert len(straight) == 14  # per worker: 20 / 4 batches of 'a' and 10 / 4 of 'b'
    keys = [tuple(key) for batch in straight for key in batch]
    assert len(keys) == len(set(keys))  # one pass: no sample twice


@pytest.mark.parametrize('stop_at', [3, 6])
def test_resampled_streams_resume_in_process(tmp_path, shard_vocab, zerovl_scope, stop_at):
    # Without a subprocess: the state after ``stop_at`` batches, loaded into a fresh dataset and loader.
    sources = make_sources(tmp_path, sizes=(40, 20), per_shard=(5, 5))

    def fresh():
        dataset = make_dataset(tmp_path, sources, shard_vocab, batch_size=4, num_workers=2, samples_per_epoch=64,
                               seed=5)
        dataset.set_epoch(2)
        return dataset

    straight = batches(fresh())
    assert len(straight) == 16
    first = fresh()
    for batch in straight[:stop_at]:
        first.observe_batch(dict(stream_state=batch['state']))
    state = first.state_dict()
    assert state['position'] == stop_at and state['epoch'] == 2
    resumed = fresh()
    resumed.load_state_dict(state)
    assert [batch['keys'] for batch in batches(resumed)] == [batch['keys'] for batch in straight[stop_at:]]


def test_state_of_another_split_is_refused(tmp_path, shard_vocab, zerovl_scope):
    sources = make_sources(tmp_path, sizes=(40, 20), per_shard=(5, 5))
    two_workers = make_dataset(tmp_path, sources, shard_vocab, batch_size=4, num_workers=2)
    one_worker = make_dataset(tmp_path, sources, shard_vocab, batch_size=4, num_workers=1)
    with pytest.raises(ValueError, match='saved with num_workers=2, but this run has num_workers=1'):
        one_worker.load_state_dict(two_workers.state_dict())
