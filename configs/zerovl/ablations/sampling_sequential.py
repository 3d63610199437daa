# Ablation, sampling: all of one dataset, then the next (single-dataset batches, datasets not interleaved).
_base_ = ['../zerovl_14m.py']
train_dataloader = dict(batch_sampler=dict(mode='sequential'))
