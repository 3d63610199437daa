# E1: sequential batches, one domain after the other (the paper's worst case).
_base_ = ['./cpu_two_domain.py']

train_dataloader = dict(batch_sampler=dict(mode='sequential'))
