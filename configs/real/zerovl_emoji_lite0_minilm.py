# ZeroVL's recipe at small scale on real pretrained towers and real image-caption pairs, all installed offline
# (make real-assets; docs/real_demo.md): EfficientNet-Lite0 (ImageNet-1k, timm's tf_efficientnet_lite0, 4.7M
# parameters) and all-MiniLM-L6-v2 (BERT, 6 layers, 384-d, 22.7M) fine-tuned end to end on the Google emoji
# and their names, with coin-flipping mixup, decoupled gradient accumulation, caption augmentation and ZeroVL's
# optimiser and schedule. The towers are ordinary local files named by the usual tower arguments:
#   data/pretrained/tf_efficientnet_lite0.safetensors   tools/model_converters/efficientnet_lite0_to_timm.py
#   data/pretrained/all-MiniLM-L6-v2/                   tools/model_converters/link_minilm.py
#   python tools/train.py configs/real/zerovl_emoji_lite0_minilm.py
_base_ = [
    '../_base_/datasets/emoji.py',
    '../_base_/schedules/zerovl_20e.py',
    '../_base_/default_runtime.py',
]

pretrained = 'data/pretrained'
text_model = pretrained + '/all-MiniLM-L6-v2'  # also the tokenizer of the dataset's pipelines
# The dataset config's pipelines feed 64 px, the emoji's own size: a larger input only upsamples them.
# Frozen Lite0 features of emoji find a neighbour of the same subcategory about as often at 64 px as at 224
# (1-NN accuracy 0.45 vs 0.49 over 400 images), while a forward+backward costs 17 times less (18 vs 296 ms
# per image on one core; docs/real_demo.md).

model = dict(
    type='DualEncoder',
    embed_dim=256,
    image_tower=dict(type='TimmImageTower', model_name='tf_efficientnet_lite0', pretrained=True,
                     checkpoint=pretrained + '/tf_efficientnet_lite0.safetensors'),
    # Mean pooling: how all-MiniLM-L6-v2 was trained to summarise a sentence (ZeroVL's BERT used [CLS]).
    text_tower=dict(type='HFTextTower', model_name_or_path=text_model, pretrained=True, pooling='mean'),
    projection=dict(type='LinearProjection'),
    loss=dict(type='InfoNCELoss', gather_with_grad=True, temperature=dict(init=0.02, learnable=False)),
    mixup=dict(type='CoinFlipMixup', beta=0.1),
    # ZeroVL's large batch in sub-batches: the gradient of the whole batch of 128, the memory of 32.
    dga=dict(sub_batch_size=32),
    # EfficientNet-Lite's TF weights expect pixels in [-1, 1]: mean = std = 0.5 x 255.
    data_preprocessor=dict(type='ImageTextDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3),
)

# About 17 steps per epoch at batch 128. ZeroVL's AdamW, lr 1e-4 for the pretrained towers; the projection
# heads start from random, and at a few hundred steps instead of ZeroVL's ~100k they get 10 x that.
max_epochs = 8
# Scheduler positions follow the run (docs/training.md): end=None is the run's end and run_fraction a share of
# all its iterations (at least 2), so --cfg-options train_cfg.max_epochs=N moves the warm-up and the end too.
warmup = dict(run_fraction=1 / 16)  # half an epoch of the 8
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'_projection': dict(lr_mult=10.0)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=warmup,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min_ratio=0.1, by_epoch=True, begin=warmup, end=None,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs // 2)
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
