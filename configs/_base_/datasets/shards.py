# ZeroVL's 14M pre-training data as img2dataset webdataset shards (docs/data_preparation.md, "from img2dataset
# to training"): one folder per source holding 00000.tar, 00000_stats.json, ... as img2dataset writes them.
# Start-up reads only the _stats.json files (O(shards)); the dataset streams the tars and batches itself, so
# that every global batch comes from one source (debiased sampling) with batches of `batch_size` per rank.
# Validation stays on the retrieval sets of zerovl_14m.py (COCO / F30K in the CSV layout).
_base_ = ['./zerovl_14m.py']

train_sources = [dict(name='cc3m', path='cc3m/train_shards'), dict(name='sbu', path='sbu/train_shards'),
                 dict(name='cc12m', path='cc12m/train_shards')]
batch_size = 128  # per rank
num_workers = 8  # the DataLoader's and the dataset's: shards are split between ranks x workers

train_dataloader = dict(
    _delete_=True,
    batch_size=None,  # the dataset yields whole batches
    sampler=None,  # the dataset decides the order (an iterable dataset takes no sampler)
    num_workers=num_workers,
    persistent_workers=True,
    pin_memory=True,
    collate_fn=dict(type='zerovl.shard_batch_collate'),
    dataset=dict(
        type='ShardImageTextDataset',
        data_root={{_base_.data_root}},
        sources=train_sources,
        batch_size=batch_size,
        num_workers=num_workers,
        # 'debias': each global batch from one source, drawn ∝ its size; 'shuffle' mixes sources in a batch
        # (the paper's random-sampling baseline); 'sequential' reads sources, shards and samples in order.
        mode='debias',
        # None: every epoch reads every shard once. An int: resampled epochs of that many samples, shards
        # drawn with replacement (open_clip's --dataset-resampled), e.g. 14_000_000.
        samples_per_epoch=None,
        caption_key=None,  # None: the caption is {key}.txt; 'caption': the 'caption' key of {key}.json
        seed=0,
        pipeline={{_base_.train_pipeline}}),
)
# SamplerStateHook (default_runtime.py) sets the shard dataset's epoch and stores every stream's position in
# checkpoints for mid-epoch resume; SamplerSeedHook, the sampler_seed hook there, finds no sampler and skips.
