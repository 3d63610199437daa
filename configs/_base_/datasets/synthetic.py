# The bundled two-domain synthetic set (tools/dataset_converters/make_synthetic.py data/synthetic), in ZeroVL's original
# layout. Its WordPiece vocabulary is generated with it, so small text towers train from scratch offline.
data_root = 'data/synthetic'
tokenizer = data_root + '/vocab.txt'
train_names = ['synth_a', 'synth_b']
val_names = ['synth_a', 'synth_b']
image_size = 64

# No AutoAugment here: its colour operations (Invert, Color, Solarize...) would contradict captions that
# name colours. Caption augmentation is ZeroVL's (10 % [MASK], 2 % random token, 8 % deleted).
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeImage', size=image_size),
    dict(type='CaptionAugment', tokenizer=tokenizer),
    dict(type='Tokenize', tokenizer=tokenizer, max_length=25),
    dict(type='PackImageTextInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeImage', size=image_size),
    dict(type='Tokenize', tokenizer=tokenizer, max_length=25),
    dict(type='PackImageTextInputs'),
]

train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    # Debiased sampling: every global batch from one domain, chosen with probability ∝ its size.
    batch_sampler=dict(type='DebiasedBatchSampler', mode='debias'),
    collate_fn=dict(type='zerovl.image_text_collate'),
    dataset=dict(
        type='ConcatDataset',
        datasets=[dict(type='ImageTextDataset', data_root=data_root, name=name, split='train',
                       pipeline=train_pipeline) for name in train_names]),
)
val_dataloader = dict(
    batch_size=128,
    num_workers=2,
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
