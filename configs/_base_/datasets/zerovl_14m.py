# ZeroVL's 14M pre-training data in the original layout: {data_root}/{name}/train_anno.csv + train/,
# validation on {data_root}/{coco,f30k}/valid_anno.csv + valid/ (the Karpathy test splits: COCO 5k images /
# 25k captions, F30K 1k / 5k). Loader settings: zerovl_loaders.py.
_base_ = ['./zerovl_loaders.py']

data_root = 'data'
train_names = ['cc3m', 'sbu', 'cc12m']
val_names = ['coco', 'f30k']
# 'files' reads {name}/{split}_anno.csv + {split}/; 'lmdb' reads {name}/{split}.lmdb written by
# tools/dataset_converters/csv_to_lmdb.py (docs/data_preparation.md). Bad inputs: training datasets skip and count
# them (on_error='skip', max_skip_ratio=0.01 by default), evaluation ones (test_mode=True) raise.
source = 'files'
train_pipeline = _base_.train_pipeline
test_pipeline = _base_.test_pipeline

train_dataloader = dict(dataset=dict(
    type='ConcatDataset',
    datasets=[dict(type='ImageTextDataset', data_root=data_root, name=name, split='train', source=source,
                   pipeline=train_pipeline) for name in train_names]))
val_dataloader = dict(dataset=dict(
    type='ConcatDataset',
    datasets=[dict(type='ImageTextDataset', data_root=data_root, name=name, split='valid', source=source,
                   pipeline=test_pipeline, test_mode=True) for name in val_names]))
test_dataloader = val_dataloader
