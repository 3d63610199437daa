# E5: a constant temperature of 0.05 (the base's is ZeroVL's 0.02).
_base_ = ['./cpu_two_domain.py']

model = dict(loss=dict(temperature=dict(init=0.05)))
