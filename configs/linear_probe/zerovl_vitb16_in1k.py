# ZeroVL's linear probe on ImageNet-1K (docs/method.md §2.9): the frozen ViT-B/16 image tower of a
# zerovl pre-training checkpoint, one linear layer on its pooled 768-d feature (the CLS token, before the
# 512-d projection), no BatchNorm in front of it. LARS (momentum 0.9, weight decay 0, eta 0.001) with
# lr 6.4 at a global batch of 16,384 (MAE's 0.1 x 16384 / 256), 90 epochs, 10 of linear warm-up, cosine to 0.
# Run (8 GPUs x 2,048; add --amp for ZeroVL's fp16):
#   bash tools/dist_train.sh configs/linear_probe/zerovl_vitb16_in1k.py 8 --amp \
#       --cfg-options model.pretrained.checkpoint=work_dirs/zerovl_14m/epoch_20.pth
_base_ = [
    '../_base_/datasets/imagenet_linear_probe.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='LinearProbeClassifier',
    # The tower of configs/_base_/models/zerovl_vitb16_bert.py, built empty: its weights come from the
    # pre-training checkpoint below, not from the hub.
    image_tower=dict(type='TimmImageTower', model_name='vit_base_patch16_224.augreg_in21k', pretrained=False),
    num_classes=1000,
    # ZeroVL: none. MAE's protocol: neck=dict(type='BatchNormNeck') (BatchNorm without affine).
    neck=None,
    # Only the keys under 'image_tower.' are loaded (strictly); projections, text tower and temperature
    # are ignored. Point it at your checkpoint with --cfg-options model.pretrained.checkpoint=PATH.
    pretrained=dict(checkpoint='work_dirs/zerovl_14m/epoch_20.pth', prefix='image_tower.'),
    # The pre-training normalisation (configs/_base_/models/zerovl_vitb16_bert.py: ImageNet mean/std).
    # ZeroVL's released 100M checkpoint was trained with mean = std = 0.5: mean=[127.5] * 3, std=[127.5] * 3.
    data_preprocessor=dict(type='ImageTextDataPreprocessor',
                           mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375]),
)

max_epochs = 90
# Scheduler positions follow the run (docs/training.md): end=None is the run's end and run_fraction a share of
# all its iterations (at least 2), so --cfg-options train_cfg.max_epochs=N moves the warm-up and the end too.
warmup = dict(run_fraction=1 / 9)  # 10 of the 90 epochs
# mmpretrain's LARS (layer-wise trust ratio eta * |w| / |grad|, applied to the weight and the bias alike,
# as ZeroVL did). lr 6.4 is for a global batch of 16,384; auto_scale_lr rescales it linearly to
# (GPUs x train_dataloader.batch_size) when the run uses another batch (MMEngine's Runner.scale_lr).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='mmpretrain.LARS', lr=6.4, momentum=0.9, weight_decay=0.0, eta=0.001),
)
auto_scale_lr = dict(base_batch_size=16384, enable=True)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=warmup,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=True, begin=warmup, end=None,
         convert_to_iter_based=True),
]
train_cfg = dict(type='ResumableEpochBasedTrainLoop', max_epochs=max_epochs, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# Each checkpoint holds the whole frozen ViT as well as the head: keep a few, every 10 epochs.
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=2))
