# Zero-shot Fashion-MNIST with the real-weights demo model (configs/real/zerovl_emoji_lite0_minilm.py:
# EfficientNet-Lite0 + all-MiniLM-L6-v2 fine-tuned on emoji): the ten class names in words through the
# general prompt ensemble, scored on a balanced 2,000-image subset of the test split (make demo-real).
#   python tools/test.py configs/zero_shot/zerovl_emoji_fashion_mnist.py \
#       work_dirs/zerovl_emoji_lite0_minilm/epoch_8.pth
# Without the checkpoint: the towers as pretrained, with untrained projection heads (the "before" row).
_base_ = ['../real/zerovl_emoji_lite0_minilm.py']

fashion_mnist = '/usr/share/datasets/fashion-mnist'  # Debian: apt-get install dataset-fashion-mnist
image_size = 64  # the resolution the model was fine-tuned at; the 28 px images are upscaled

model = dict(
    type='ZeroShotClassifier',
    classnames='fashion_mnist',
    templates='general',
    tokenizer=_base_.text_model,
    max_length=16,
)

test_pipeline = [
    dict(type='ResizeImage', size=image_size, interpolation='bicubic'),
    dict(type='PackImageLabel'),
]
test_dataloader = dict(
    _delete_=True,
    batch_size=250,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='zerovl.image_text_collate'),
    dataset=dict(type='FashionMNIST', data_root=fashion_mnist, split='test', name='fashion_mnist',
                 num_samples=2000, pipeline=test_pipeline, test_mode=True),
)
test_evaluator = dict(_delete_=True, type='ClassificationAccuracy', topk=(1, 5))
test_cfg = dict(type='TestLoop')

train_dataloader = None
train_cfg = None
optim_wrapper = None
param_scheduler = None
val_dataloader = None
val_cfg = None
val_evaluator = None
