# E7: the stack so far (debiased batches) plus coin-flipping mixup.
_base_ = ['./e1_debias.py']

model = dict(mixup=dict(type='CoinFlipMixup', beta=0.1, mode='coin'))
