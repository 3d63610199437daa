# ZeroVL on 14M pairs with all its methods, 8 GPUs (docs/method.md §2, §3):
#   debiased sampling (the dataset base config), coin-flipping mixup with β = 0.1, and decoupled gradient
#   accumulation: a global batch of 16,384 (2,048 per GPU x 8) embedded in sub-batches of 1,024 (128 per GPU),
#   so every query sees 16,383 negatives with the activation memory of a 1,024 batch. Gather with grad, τ 0.02.
# Run: bash tools/dist_train.sh configs/zerovl/zerovl_14m.py 8
# Faster on Ampere or newer, same computation (docs/training.md#speed-switches):
#   bash tools/dist_train.sh configs/zerovl/zerovl_14m.py 8 --amp-dtype bfloat16 --cfg-options \
#       model.image_tower.compile=True model.text_tower.compile=True optim_wrapper.optimizer.fused=True
_base_ = [
    '../_base_/models/zerovl_vitb16_bert.py',
    '../_base_/datasets/zerovl_14m.py',
    '../_base_/schedules/zerovl_20e.py',
    '../_base_/default_runtime.py',
]

model = dict(mixup=dict(type='CoinFlipMixup', beta=0.1), dga=dict(sub_batch_size=128))
train_dataloader = dict(batch_size=2048)
