# ZeroVL's 14M pre-training data in the original layout: {data_root}/{name}/train_anno.csv + train/,
# validation on {data_root}/{coco,f30k}/valid_anno.csv + valid/ (the Karpathy test splits: COCO 5k images /
# 25k captions, F30K 1k / 5k). Batch sizes are per GPU: 128 x 8 GPUs = ZeroVL's global batch of 1,024.
_base_ = ['./zerovl_pipelines.py']

data_root = 'data'
train_names = ['cc3m', 'sbu', 'cc12m']
val_names = ['coco', 'f30k']
# 'files' reads {name}/{split}_anno.csv + {split}/; 'lmdb' reads {name}/{split}.lmdb written by
# tools/dataset_converters/csv_to_lmdb.py (docs/data_preparation.md). Bad inputs: training datasets skip and count
# them (on_error='skip', max_skip_ratio=0.01 by default), evaluation ones (test_mode=True) raise.
source = 'files'
train_pipeline = _base_.train_pipeline
test_pipeline = _base_.test_pipeline

train_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    # Debiased sampling: each global batch from one dataset, chosen with probability ∝ its size.
    # mode='shuffle' is the paper's random-sampling baseline, mode='sequential' one dataset after another.
    batch_sampler=dict(type='DebiasedBatchSampler', mode='debias'),
    collate_fn=dict(type='zerovl.image_text_collate'),
    dataset=dict(
        type='ConcatDataset',
        datasets=[dict(type='ImageTextDataset', data_root=data_root, name=name, split='train', source=source,
                       pipeline=train_pipeline) for name in train_names]),
)
val_dataloader = dict(
    batch_size=256,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,  # with the preprocessor's non_blocking copy, evaluation batches overlap the GPU too
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='zerovl.image_text_collate'),
    dataset=dict(
        type='ConcatDataset',
        datasets=[dict(type='ImageTextDataset', data_root=data_root, name=name, split='valid', source=source,
                       pipeline=test_pipeline, test_mode=True) for name in val_names]),
)
val_evaluator = dict(type='RetrievalMetric')
test_dataloader = val_dataloader
test_evaluator = val_evaluator
