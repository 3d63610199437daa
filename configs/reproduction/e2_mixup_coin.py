# E2: mixup in the data-scarce setting, mode 'coin' (the runner points the data at the scarce set).
_base_ = ['./cpu_two_domain.py']

model = dict(mixup=dict(type='CoinFlipMixup', beta=0.1, mode='coin'))
