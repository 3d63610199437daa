# The data loaders of ZeroVL-scale image-text configs, without their datasets: per-GPU batch sizes (128 x 8
# GPUs = ZeroVL's global batch of 1,024), 8 workers, pinned memory, ZeroVL's pipelines and retrieval metrics.
# A data config (zerovl_14m.py, karpathy_coco.py) adds `dataset=` to each loader.
_base_ = ['./zerovl_pipelines.py']

train_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    # Debiased sampling: each global batch from one dataset, chosen with probability ∝ its size.
    # mode='shuffle' is the paper's random-sampling baseline, mode='sequential' one dataset after another.
    batch_sampler=dict(type='DebiasedBatchSampler', mode='debias'),
    collate_fn=dict(type='zerovl.image_text_collate'),
)
val_dataloader = dict(
    batch_size=256,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,  # with the preprocessor's non_blocking copy, evaluation batches overlap the GPU too
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='zerovl.image_text_collate'),
)
test_dataloader = val_dataloader
val_evaluator = dict(type='RetrievalMetric')
test_evaluator = val_evaluator
