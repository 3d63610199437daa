# The schedule of the CPU ablation studies (configs/reproduction/, configs/reproduction_real/): counted in
# iterations, so that every arm of an experiment takes the same number of optimiser steps whatever its batch.
# Warm-up over the first 10 % of the run, then half-cosine to 0.1 x lr; both follow train_cfg.max_iters
# (docs/training.md), so a leaf sets only `train_cfg = dict(max_iters=N, val_interval=M)` and its optimiser.
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=dict(run_fraction=0.1)),
    dict(type='CosineAnnealingLR', eta_min_ratio=0.1, by_epoch=False, begin=dict(run_fraction=0.1), end=None),
]
# PromptIterBasedTrainLoop: MMEngine's IterBasedTrainLoop minus a 2 s sleep at every pass over the data.
train_cfg = dict(type='PromptIterBasedTrainLoop', max_iters=300, val_interval=100)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
