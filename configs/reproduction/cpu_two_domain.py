# Base of the CPU reproduction of ZeroVL's ablations (docs/reproduction.md, docs/method.md §5): the
# two-domain synthetic set at 32 px, CPU-sized towers with LayerNorm (ZeroVL's ViT has LayerNorm; a
# BatchNorm tower would confound the sampling experiment, docs/methods/debiased_sampling.md), and an
# iteration-based schedule so that every arm of an experiment takes the same number of optimiser steps.
# This file is the *baseline* arm: shuffled batches of 128, no mixup (model.mixup unset), no DGA, a constant
# temperature of 0.02 (ZeroVL's). Every other arm is a leaf config next to it (e1_*.py ... e7_*.py) that
# changes only the ablated keys; tools/analysis_tools/reproduce_ablations.py runs them.
_base_ = [
    '../_base_/models/cpu_convnext_bert2.py',
    '../_base_/datasets/synthetic.py',
    '../_base_/schedules/cpu_study_iters.py',
    '../_base_/default_runtime.py',
]

data_root = 'data/reproduction/two_domain'
tokenizer = data_root + '/vocab.txt'
image_size = 32
max_iters = 300
val_interval = 100

# The synthetic base's pipelines, with this set's image size and vocabulary in the steps that take them.
set_specific = dict(size=image_size, tokenizer=tokenizer)
train_pipeline = [dict(step, **{key: value for key, value in set_specific.items() if key in step})
                  for step in _base_.train_pipeline]
test_pipeline = [dict(step, **{key: value for key, value in set_specific.items() if key in step})
                 for step in _base_.test_pipeline]
# Workers off: 32 px JPEGs decode in microseconds, and on a 2-core machine a worker process only competes
# with the training step for the same cores.
train_dataloader = dict(
    batch_size=128,
    num_workers=0,
    persistent_workers=False,
    batch_sampler=dict(mode='shuffle'),
    dataset=dict(datasets=[dict(type='ImageTextDataset', data_root=data_root, name=name, split='train',
                                pipeline=train_pipeline) for name in _base_.train_names]))
val_dataloader = dict(
    batch_size=200,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(datasets=[dict(type='ImageTextDataset', data_root=data_root, name=name, split='valid',
                                pipeline=test_pipeline, test_mode=True) for name in _base_.val_names]))
test_dataloader = val_dataloader
# DomainGapMetric: how far apart the embeddings put the two domains (the sampling experiment's probe).
val_evaluator = [dict(type='RetrievalMetric'), dict(type='DomainGapMetric')]
test_evaluator = val_evaluator

optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=2e-3, betas=(0.9, 0.98), eps=1e-6, weight_decay=0.01))
train_cfg = dict(max_iters=max_iters, val_interval=val_interval)
log_processor = dict(by_epoch=False)
# No checkpoints: an ablation run is cheap to repeat, and its result is the curves file.
default_hooks = dict(logger=dict(interval=50), checkpoint=None)
custom_hooks = [dict(type='IterationSeedHook'), dict(type='TrainingCurvesHook')]
randomness = dict(seed=0, deterministic=False)
