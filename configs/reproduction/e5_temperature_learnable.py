# E5: a learnable temperature from CLIP's 0.07.
_base_ = ['./cpu_two_domain.py']

model = dict(loss=dict(temperature=dict(init=0.07, learnable=True)))
