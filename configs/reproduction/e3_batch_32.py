# E3: a true batch of 32 (the sub-batch size of the DGA arms).
_base_ = ['./cpu_two_domain.py']

train_dataloader = dict(batch_size=32)
