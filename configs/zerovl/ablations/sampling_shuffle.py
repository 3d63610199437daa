# Ablation, sampling: random batches over the union of the datasets (the paper's baseline sampling).
_base_ = ['../zerovl_14m.py']
train_dataloader = dict(batch_sampler=dict(mode='shuffle'))
