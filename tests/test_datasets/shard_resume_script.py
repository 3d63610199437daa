"""Iterate a shard dataset through a 2-worker DataLoader, appending each batch's keys to a log and the
dataset's state after it to a state file; kill itself with SIGKILL after --kill-after batches.
With --resume, start from the state file. Used by test_shard_resume.py."""
import argparse
import json
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from mmengine.registry import DefaultScope  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402

import zerovl.datasets  # noqa: E402,F401
from shard_helpers import make_dataset  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('root')
    parser.add_argument('vocab')
    parser.add_argument('log')
    parser.add_argument('--kill-after', type=int)
    parser.add_argument('--resume', action='store_true')
    parser.add_argument('--samples-per-epoch', type=int)
    args = parser.parse_args()
    with DefaultScope.overwrite_default_scope('zerovl'):
        dataset = make_dataset(args.root, [dict(name='a', path='a'), dict(name='b', path='b')], args.vocab,
                               batch_size=4, num_workers=2, samples_per_epoch=args.samples_per_epoch, seed=5)
        dataset.set_epoch(1)
        if args.resume:
            dataset.load_state_dict(json.load(open(args.log + '.state')))
        loader = DataLoader(dataset, batch_size=None, num_workers=2, collate_fn=lambda item: item,
                            persistent_workers=True)
        with open(args.log, 'a') as log:
            for count, batch in enumerate(loader, 1):
                dataset.observe_batch(batch)
                keys = [[s['data_samples']['dataset_name'], s['data_samples']['caption_id']] for s in batch['samples']]
                log.write(json.dumps(keys) + '\n')
                log.flush()
                with open(args.log + '.state.tmp', 'w') as f:
                    json.dump(dataset.state_dict(), f)
                os.replace(args.log + '.state.tmp', args.log + '.state')
                if count == args.kill_after:
                    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == '__main__':
    main()
