# Fine-tuning data: COCO in the Karpathy split, converted by tools/dataset_converters/karpathy_to_csv.py
# (docs/data_preparation.md): {data_root}/coco/{train,val,valid}_anno.csv, where train = Karpathy
# train + restval (113,287 images / 566,747 captions), val = the 5k validation images (checkpoint
# selection during training) and valid = the 5k test images / 25k captions every result is reported on.
# Loader settings: zerovl_loaders.py (per-GPU batch sizes, ZeroVL's pipelines, augmentation on train only).
_base_ = ['./zerovl_loaders.py']

data_root = 'data'
dataset_name = 'coco'
source = 'files'
train_pipeline = _base_.train_pipeline
test_pipeline = _base_.test_pipeline

train_dataloader = dict(
    # One dataset: debiased sampling has nothing to choose between; shuffled batches keep its resumable state.
    batch_sampler=dict(mode='shuffle'),
    dataset=dict(type='ImageTextDataset', data_root=data_root, name=dataset_name, split='train', source=source,
                 pipeline=train_pipeline),
)
# split='valid' is the Karpathy test split (the converter writes it as valid_anno.csv).
test_dataloader = dict(
    dataset=dict(type='ImageTextDataset', data_root=data_root, name=dataset_name, split='valid', source=source,
                 pipeline=test_pipeline, test_mode=True))
# The Karpathy *val* split: tuning on the test split would make the reported numbers optimistic.
val_dataloader = dict(dataset=dict(test_dataloader['dataset'], ann_file=f'{dataset_name}/val_anno.csv',
                                   img_dir=f'{dataset_name}/val'))
