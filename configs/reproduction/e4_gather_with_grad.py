# E4: 2 gloo processes x 64 (global batch 128), gradients flowing through the gathered embeddings.
_base_ = ['./cpu_two_domain.py']

train_dataloader = dict(batch_size=64)
model = dict(loss=dict(gather_with_grad=True))
