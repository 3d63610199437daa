# E4: two gloo processes x 64 (global batch 128), the other rank's embeddings keep their gradient.
_base_ = ['./lite0_minilm_sources.py']

train_dataloader = dict(batch_size=64)
model = dict(loss=dict(gather_with_grad=True))
