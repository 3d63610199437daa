# Ablation, mixup: mixup forced to 'image' every step instead of the coin flip.
_base_ = ['../zerovl_14m.py']
model = dict(mixup=dict(mode='image'))
