# E2: mixup with little data, mode 'coin' (the runner points the training data at the scarce set).
_base_ = ['./lite0_minilm_sources.py']

model = dict(mixup=dict(type='CoinFlipMixup', beta=0.1, mode='coin'))
