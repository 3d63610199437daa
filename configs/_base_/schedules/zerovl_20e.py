# ZeroVL's schedule (docs/method.md §2.7): AdamW (0.9, 0.98), eps 1e-6, lr 1e-4, weight decay 0.001 on
# every parameter, linear warm-up over 2.5 % of all steps, then half-cosine down to 0.1 x lr; no clipping.
max_epochs = 20
# Scheduler positions follow the run (docs/training.md): end=None is the run's end and run_fraction a share of
# all its iterations (at least 2), so --cfg-options train_cfg.max_epochs=N moves the warm-up and the end too.
warmup = dict(run_fraction=0.025)

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.98), eps=1e-6, weight_decay=0.001),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=warmup,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min_ratio=0.1, by_epoch=True, begin=warmup,
         end=None, convert_to_iter_based=True),
]
# Resumes an interrupted epoch at its next batch (MMEngine's loop would restart the epoch).
train_cfg = dict(type='ResumableEpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
