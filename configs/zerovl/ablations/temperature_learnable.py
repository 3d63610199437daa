# Ablation, temperature: learnable τ initialised at 0.02 (exact under DGA here; clamped to [0.001, 0.5]).
_base_ = ['../zerovl_14m.py']
model = dict(loss=dict(temperature=dict(learnable=True)))
