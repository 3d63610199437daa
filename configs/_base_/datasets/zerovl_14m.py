# ZeroVL's 14M pre-training data in the original layout: {data_root}/{name}/train_anno.csv + train/,
# validation on {data_root}/{coco,f30k}/valid_anno.csv + valid/ (the Karpathy test splits: COCO 5k images /
# 25k captions, F30K 1k / 5k). Batch sizes are per GPU: 128 x 8 GPUs = ZeroVL's global batch of 1,024.
data_root = 'data'
tokenizer = 'bert-base-uncased'  # the text tower's own tokenizer
train_names = ['cc3m', 'sbu', 'cc12m']
val_names = ['coco', 'f30k']

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mmpretrain.RandomResizedCrop', scale=224, crop_ratio_range=(0.6, 1.0), backend='cv2',
         interpolation='bilinear'),
    dict(type='Tokenize', tokenizer=tokenizer, max_length=25),
    dict(type='PackImageTextInputs'),
]
# The original evaluation squashes to 256 x 256 (no aspect ratio kept), then crops the centre 224.
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeImage', size=256, keep_ratio=False, interpolation='bicubic'),
    dict(type='CenterCrop', size=224),
    dict(type='Tokenize', tokenizer=tokenizer, max_length=25),
    dict(type='PackImageTextInputs'),
]

train_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='zerovl.image_text_collate'),
    dataset=dict(
        type='ConcatDataset',
        datasets=[dict(type='ImageTextDataset', data_root=data_root, name=name, split='train',
                       pipeline=train_pipeline) for name in train_names]),
)
val_dataloader = dict(
    batch_size=256,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='zerovl.image_text_collate'),
    dataset=dict(
        type='ConcatDataset',
        datasets=[dict(type='ImageTextDataset', data_root=data_root, name=name, split='valid',
                       pipeline=test_pipeline, test_mode=True) for name in val_names]),
)
val_evaluator = dict(type='RetrievalMetric')
test_dataloader = val_dataloader
test_evaluator = val_evaluator
