# Zero-shot Fashion-MNIST with the real-weights demo model (configs/real/zerovl_emoji_lite0_minilm.py:
# EfficientNet-Lite0 + all-MiniLM-L6-v2 fine-tuned on emoji): the ten class names in words through the
# general prompt ensemble, scored on a balanced 2,000-image subset of the test split (make demo-real).
#   python tools/test.py configs/zero_shot/zerovl_emoji_fashion_mnist.py \
#       work_dirs/zerovl_emoji_lite0_minilm/epoch_8.pth
# Without the checkpoint: the towers as pretrained, with untrained projection heads (the "before" row).
# Evaluation only: the real demo's model base and Fashion-MNIST's test split, no training recipe.
_base_ = [
    '../_base_/models/lite0_minilm.py',
    '../_base_/datasets/fashion_mnist_test.py',
    '../_base_/default_runtime.py',
]

image_size = 64  # the resolution the model was fine-tuned at; the 28 px images are upscaled

model = dict(
    type='ZeroShotClassifier',
    classnames='fashion_mnist',
    templates='general',
    tokenizer=_base_.text_model,
    max_length=16,
    # Unused in evaluation; present as in the real demo so that its checkpoints' mixup step counter loads
    # into it instead of being reported as an unexpected key.
    mixup=dict(type='CoinFlipMixup', beta=0.1),
)

test_pipeline = [dict(_base_.test_pipeline[0], size=image_size)] + _base_.test_pipeline[1:]
test_dataloader = dict(batch_size=250, num_workers=0, persistent_workers=False,
                       dataset=dict(num_samples=2000, pipeline=test_pipeline))
