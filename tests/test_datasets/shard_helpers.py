"""Tiny img2dataset shard folders and a shard dataset over them, shared by the shard tests."""
from torch.utils.data import DataLoader

from zerovl.datasets.converters.shards_convert import write_synthetic_shards
from zerovl.datasets.shards.dataset import ShardImageTextDataset

VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'synthetic', 'sample']


def make_sources(root, sizes=(40, 20), per_shard=(5, 5)):
    """Sources 'a', 'b', ... of ``sizes`` samples, captions 'synthetic sample {i}' (i counted per source)."""
    names = []
    for index, (size, shard) in enumerate(zip(sizes, per_shard)):
        name = chr(ord('a') + index)
        write_synthetic_shards(str(root / name), size, shard, seed=index)
        names.append(name)
    return [dict(name=name, path=name) for name in names]


def pipeline(vocab_file):
    return [dict(type='LoadImageFromFile'), dict(type='Tokenize', tokenizer=vocab_file, max_length=8),
            dict(type='PackImageTextInputs')]


def make_dataset(root, sources, vocab_file, **kwargs):
    kwargs.setdefault('rank', 0)
    kwargs.setdefault('world_size', 1)
    return ShardImageTextDataset(str(root), sources, pipeline=pipeline(vocab_file), **kwargs)


def identity(item):
    return item


def batches(dataset, num_workers=None):
    """Every batch of one epoch, as (source names, caption ids) lists, through a real DataLoader."""
    workers = dataset.plan.num_workers if num_workers is None else num_workers
    # 'fork', as training runs (env_cfg.mp_cfg), also inside processes started by spawn: faster, and
    # it is the path on which set_epoch reaches persistent workers.
    loader = DataLoader(dataset, batch_size=None, num_workers=workers, collate_fn=identity,
                        multiprocessing_context='fork' if workers else None)
    return [describe(batch) for batch in loader]


def describe(batch):
    return dict(sources=[s['data_samples']['dataset_name'] for s in batch['samples']],
                keys=[(s['data_samples']['dataset_name'], s['data_samples']['caption_id']) for s in batch['samples']],
                state=batch['stream_state'])
