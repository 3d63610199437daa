# E7: the whole stack: debiased batches, coin-flipping mixup and a batch of 256 through DGA (2 x 128).
_base_ = ['./e7_debias_mixup.py']

train_dataloader = dict(batch_size=256)
model = dict(dga=dict(sub_batch_size=128))
