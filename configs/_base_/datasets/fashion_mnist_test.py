# Fashion-MNIST's test split (10 classes, 28 x 28 grey) from Debian's package (apt-get install
# dataset-fashion-mnist), read straight from its gzipped IDX files; images come as RGB arrays, so no loading
# transform is needed. Evaluation only: zero-shot configs take it as it is, fashion_mnist.py adds training.
# num_samples=None uses the whole split (10k); an int takes a balanced subset (the first num_samples / 10
# of each class), which keeps CPU demos short.
data_root = '/usr/share/datasets/fashion-mnist'
dataset_name = 'fashion_mnist'
image_size = 28
test_samples = None

test_pipeline = [
    dict(type='ResizeImage', size=image_size, interpolation='bicubic'),
    dict(type='PackImageLabel'),
]
test_dataloader = dict(
    batch_size=500,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='zerovl.image_text_collate'),
    dataset=dict(type='FashionMNIST', data_root=data_root, split='test', name=dataset_name,
                 num_samples=test_samples, pipeline=test_pipeline, test_mode=True),
)
test_evaluator = dict(type='ClassificationAccuracy', topk=(1, 5))
test_cfg = dict(type='TestLoop')
