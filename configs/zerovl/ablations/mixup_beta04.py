# Ablation, mixup strength: Beta(0.4, 0.4) instead of ZeroVL's Beta(0.1, 0.1).
_base_ = ['../zerovl_14m.py']
model = dict(mixup=dict(beta=0.4))
