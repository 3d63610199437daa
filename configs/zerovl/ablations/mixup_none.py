# Ablation, mixup: no mixup.
_base_ = ['../zerovl_14m.py']
model = dict(mixup=None)
