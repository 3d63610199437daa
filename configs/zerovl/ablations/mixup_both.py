# Ablation, mixup: mixup forced to 'both' every step instead of the coin flip.
_base_ = ['../zerovl_14m.py']
model = dict(mixup=dict(mode='both'))
