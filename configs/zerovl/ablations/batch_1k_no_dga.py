# Ablation, batch size: a plain 1,024 global batch (128 x 8), no decoupled gradient accumulation.
_base_ = ['../zerovl_14m.py']
model = dict(dga=None)
train_dataloader = dict(batch_size=128)
