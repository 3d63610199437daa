# Fashion-MNIST for training (linear probes): the 60k training split, with the test split of
# fashion_mnist_test.py for validation and testing. num_samples as there (None: the whole split).
_base_ = ['./fashion_mnist_test.py']

train_samples = None
train_pipeline = [
    dict(type='ResizeImage', size=_base_.image_size, interpolation='bicubic'),
    # A horizontal flip keeps every Fashion-MNIST label (shoes point either way after flipping).
    dict(type='mmcv.RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackImageLabel'),
]
train_dataloader = dict(
    batch_size=256,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='zerovl.image_text_collate'),
    dataset=dict(type='FashionMNIST', data_root=_base_.data_root, split='train', name=_base_.dataset_name,
                 num_samples=train_samples, pipeline=train_pipeline),
)
val_dataloader = _base_.test_dataloader
val_evaluator = _base_.test_evaluator
