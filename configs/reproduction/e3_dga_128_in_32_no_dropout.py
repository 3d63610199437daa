# E3: DGA 4 x 32 without dropout, whose loss curve should coincide with e3_no_dropout.py's step by step.
_base_ = ['./e3_no_dropout.py']

model = dict(dga=dict(sub_batch_size=32))
