# CPU demo of linear probing: the frozen image tower of the `make demo` checkpoint (configs/zerovl/
# zerovl_demo.py: resnet10t at 64 px, pixels normalised with mean = std = 127.5) probed on a balanced
# 4,000-image subset of Fashion-MNIST (28 px upscaled to 64), scored on a balanced 2,000-image subset of
# its test split. About 1.5 minutes on a 2-core CPU (docs/linear_probe.md gives the measured accuracies):
#   python tools/train.py configs/linear_probe/zerovl_demo_fashion_mnist.py
# Probe a random-init tower instead (the baseline the pre-training should beat):
#   ... --cfg-options model.pretrained.checkpoint=None
_base_ = [
    '../_base_/datasets/fashion_mnist.py',
    '../_base_/default_runtime.py',
]

image_size = 64  # the demo tower's pre-training resolution
train_pipeline = [dict(_base_.train_pipeline[0], size=image_size)] + _base_.train_pipeline[1:]
test_pipeline = [dict(_base_.test_pipeline[0], size=image_size)] + _base_.test_pipeline[1:]

model = dict(
    type='LinearProbeClassifier',
    image_tower=dict(type='TimmImageTower', model_name='resnet10t', pretrained=False),
    num_classes=10,
    # MAE's affine-free BatchNorm before the head: the ResNet's pooled features are non-negative and of
    # arbitrary scale, and without it LARS needs many more steps than a demo has (measured: -8 to -40
    # points of top-1 at equal steps).
    neck=dict(type='BatchNormNeck'),
    pretrained=dict(checkpoint='work_dirs/zerovl_demo/epoch_6.pth', prefix='image_tower.'),
    data_preprocessor=dict(type='ImageTextDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3),
)

# Worker processes would only compete with the model for the two cores.
train_dataloader = dict(batch_size=50, num_workers=0, persistent_workers=False,
                        dataset=dict(num_samples=4000, pipeline=train_pipeline))
val_dataloader = dict(batch_size=250, num_workers=0, persistent_workers=False,
                      dataset=dict(num_samples=2000, pipeline=test_pipeline))
test_dataloader = val_dataloader

max_epochs = 3
# Scheduler positions follow the run (docs/training.md): end=None is the run's end and run_fraction a share of
# all its iterations (at least 2), so --cfg-options train_cfg.max_epochs=N moves the warm-up and the end too.
warmup = dict(run_fraction=0.1)  # ZeroVL's share: 10 of 90 epochs
# The ImageNet recipe's optimiser (LARS, momentum 0.9, no weight decay, eta 0.001) at a demo-sized lr.
# LARS moves each layer by about lr x eta of its norm per step; ImageNet's 7,000 steps at 6.4 become
# 240 steps here, which need a lr a few times larger (20 beat 10 and 50 in a sweep on cached features).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='mmpretrain.LARS', lr=20.0, momentum=0.9, weight_decay=0.0, eta=0.001),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=warmup,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=True, begin=warmup, end=None,
         convert_to_iter_based=True),
]
train_cfg = dict(type='ResumableEpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=max_epochs))
