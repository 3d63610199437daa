# E4: as e4_gather_with_grad.py, but the other rank's embeddings are constants.
_base_ = ['./e4_gather_with_grad.py']

model = dict(loss=dict(gather_with_grad=False))
