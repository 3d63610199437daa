# Fine-tuning data: COCO in the Karpathy split, converted by tools/dataset_converters/karpathy_to_csv.py
# (docs/data_preparation.md): {data_root}/coco/{train,val,valid}_anno.csv, where train = Karpathy
# train + restval (113,287 images / 566,747 captions), val = the 5k validation images (checkpoint
# selection during training) and valid = the 5k test images / 25k captions every result is reported on.
# Per-GPU batch sizes; ZeroVL's pipelines (augmentation on train only).
_base_ = ['./zerovl_pipelines.py']

data_root = 'data'
dataset_name = 'coco'
source = 'files'
train_pipeline = _base_.train_pipeline
test_pipeline = _base_.test_pipeline

train_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    # One dataset: debiased sampling has nothing to choose between; shuffled batches keep its resumable state.
    batch_sampler=dict(type='DebiasedBatchSampler', mode='shuffle'),
    collate_fn=dict(type='zerovl.image_text_collate'),
    dataset=dict(type='ImageTextDataset', data_root=data_root, name=dataset_name, split='train', source=source,
                 pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=256,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='zerovl.image_text_collate'),
    # The Karpathy *val* split: tuning on the test split would make the reported numbers optimistic.
    dataset=dict(type='ImageTextDataset', data_root=data_root, name=dataset_name, split='valid', source=source,
                 ann_file=f'{dataset_name}/val_anno.csv', img_dir=f'{dataset_name}/val',
                 pipeline=test_pipeline, test_mode=True),
)
test_dataloader = dict(
    batch_size=256,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='zerovl.image_text_collate'),
    # split='valid' is the Karpathy test split (the converter writes it as valid_anno.csv).
    dataset=dict(type='ImageTextDataset', data_root=data_root, name=dataset_name, split='valid', source=source,
                 pipeline=test_pipeline, test_mode=True),
)
val_evaluator = dict(type='RetrievalMetric')
test_evaluator = val_evaluator
