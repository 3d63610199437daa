# E7: debiased batches and coin-flipping mixup.
_base_ = ['./e1_debias.py']

model = dict(mixup=dict(type='CoinFlipMixup', beta=0.1, mode='coin'))
