# Fashion-MNIST (10 classes, 28 x 28 grey) from Debian's package (apt-get install dataset-fashion-mnist),
# read straight from its gzipped IDX files; images come as RGB arrays, so no loading transform is needed.
# num_samples=None uses the whole split (60k / 10k); an int takes a balanced subset (the first
# num_samples / 10 of each class), which keeps CPU demos short.
data_root = '/usr/share/datasets/fashion-mnist'
dataset_name = 'fashion_mnist'
image_size = 28
train_samples = None
test_samples = None

train_pipeline = [
    dict(type='ResizeImage', size=image_size, interpolation='bicubic'),
    # A horizontal flip keeps every Fashion-MNIST label (shoes point either way after flipping).
    dict(type='mmcv.RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackImageLabel'),
]
test_pipeline = [
    dict(type='ResizeImage', size=image_size, interpolation='bicubic'),
    dict(type='PackImageLabel'),
]

train_dataloader = dict(
    batch_size=256,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='zerovl.image_text_collate'),
    dataset=dict(type='FashionMNIST', data_root=data_root, split='train', name=dataset_name,
                 num_samples=train_samples, pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=500,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='zerovl.image_text_collate'),
    dataset=dict(type='FashionMNIST', data_root=data_root, split='test', name=dataset_name,
                 num_samples=test_samples, pipeline=test_pipeline, test_mode=True),
)
val_evaluator = dict(type='ClassificationAccuracy', topk=(1, 5))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
