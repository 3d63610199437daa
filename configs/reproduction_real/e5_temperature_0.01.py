# E5: a constant temperature of 0.01.
_base_ = ['./lite0_minilm_sources.py']

model = dict(loss=dict(temperature=dict(init=0.01, learnable=False)))
