# E3: a batch of 64 through DGA in two sub-batches of 32.
_base_ = ['./cpu_two_domain.py']

train_dataloader = dict(batch_size=64)
model = dict(dga=dict(sub_batch_size=32))
