# E1: debiased batches, each drawn from one training source (ZeroVL's sampler).
_base_ = ['./lite0_minilm_sources.py']

train_dataloader = dict(batch_sampler=dict(mode='debias'))
