# E1 (and E7's + debias): debiased batches, each from one domain chosen with probability ∝ its size.
_base_ = ['./cpu_two_domain.py']

train_dataloader = dict(batch_sampler=dict(mode='debias'))
