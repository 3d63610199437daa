# The demo: ZeroVL's recipe at toy scale, trained from scratch on the synthetic two-domain set on CPU in a
# few minutes (make demo): coin-flipping mixup (β 0.1), decoupled gradient accumulation (batch 64 in
# sub-batches of 32) and caption augmentation. Same code path as zerovl_14m.py; sizes and schedule differ.
# Sampling is shuffled here, not debiased: the CPU-sized tower uses BatchNorm, and single-domain batches
# make BatchNorm's running statistics wrong at evaluation (measured: docs/methods/debiased_sampling.md).
# ZeroVL's ViT has LayerNorm; set batch_sampler.mode='debias' with a LayerNorm tower.
_base_ = [
    '../_base_/models/demo_resnet10t_bert2.py',
    '../_base_/datasets/synthetic.py',
    '../_base_/schedules/zerovl_20e.py',
    '../_base_/default_runtime.py',
]

model = dict(mixup=dict(type='CoinFlipMixup', beta=0.1), dga=dict(sub_batch_size=32))

max_epochs = 6
# ZeroVL's schedule with the warm-up over half an epoch of the 6. Positions follow the run (docs/training.md),
# so --cfg-options train_cfg.max_epochs=N moves the warm-up and the end too.
warmup = dict(run_fraction=1 / 12)
optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=0.01))
param_scheduler = [dict(_base_.param_scheduler[0], end=warmup), dict(_base_.param_scheduler[1], begin=warmup)]
train_dataloader = dict(batch_sampler=dict(mode='shuffle'))
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=max_epochs))
