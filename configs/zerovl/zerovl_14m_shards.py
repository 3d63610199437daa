# zerovl_14m.py (ZeroVL with all its methods, 8 GPUs) trained straight from img2dataset webdataset shards of
# CC3M, SBU and CC12M instead of CSV + image folders: configs/_base_/datasets/shards.py, docs/data_preparation.md.
# Run: bash tools/dist_train.sh configs/zerovl/zerovl_14m_shards.py 8
_base_ = [
    '../_base_/models/zerovl_vitb16_bert.py',
    '../_base_/datasets/shards.py',
    '../_base_/schedules/zerovl_20e.py',
    '../_base_/default_runtime.py',
]

model = dict(mixup=dict(type='CoinFlipMixup', beta=0.1), dga=dict(sub_batch_size=128))
# DGA's global batch of 2,048 per GPU, as zerovl_14m.py; the shard dataset batches, so the size is its own.
train_dataloader = dict(dataset=dict(batch_size=2048))
