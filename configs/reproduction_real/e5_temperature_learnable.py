# E5: a learnable temperature from CLIP's 0.07.
_base_ = ['./lite0_minilm_sources.py']

model = dict(loss=dict(temperature=dict(init=0.07, learnable=True)))
