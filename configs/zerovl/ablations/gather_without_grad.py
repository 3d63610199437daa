# Ablation, gather backward: keys gathered from other ranks as constants (ZeroVL's gather_backward=False).
_base_ = ['../zerovl_14m.py']
model = dict(loss=dict(gather_with_grad=False))
