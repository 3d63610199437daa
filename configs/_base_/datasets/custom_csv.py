# Your own image-caption pairs, set in one place (docs/custom_data.md). Layout, as ZeroVL's own data:
#   {data_root}/{name}/train_anno.csv + train/    columns image,image_id,caption,caption_id
#   {data_root}/{name}/valid_anno.csv + valid/    held-out pairs: validation and the test report
# tools/dataset_converters/folder_to_csv.py writes it from a folder of images with captions.
#
# The train, val and test dataloaders are built from `custom_data` when a tool loads the config
# (zerovl/utils/custom_data.py), after a leaf config and --cfg-options have changed it, so one key moves all
# three: --cfg-options custom_data.data_root=data/mine custom_data.names=[mine]. Keys left out keep the
# defaults listed in zerovl/utils/custom_data.py (DEFAULTS); an unknown key is an error naming it.
# A loader key the config sets itself (train_dataloader = dict(num_workers=8)) is merged over the built one.
custom_data = dict(
    data_root='data/custom',
    names=['custom'],            # trained on; val_names / test_names default to these
    image_size=224,
    tokenizer='bert-base-uncased',  # must be the text tower's own tokenizer
    max_length=25,
    batch_size=64,               # per process; tools/train.py refuses one larger than the training rows
)
val_evaluator = dict(type='RetrievalMetric')
test_evaluator = val_evaluator
