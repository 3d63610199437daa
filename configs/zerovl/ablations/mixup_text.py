# Ablation, mixup: mixup forced to 'text' every step instead of the coin flip.
_base_ = ['../zerovl_14m.py']
model = dict(mixup=dict(mode='text'))
