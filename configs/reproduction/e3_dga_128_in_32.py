# E3: the base's batch of 128 through DGA in four sub-batches of 32: the same gradient as one true batch.
_base_ = ['./cpu_two_domain.py']

model = dict(dga=dict(sub_batch_size=32))
