# Ablation, batch size: a 4,096 global batch (512 x 8) through DGA sub-batches of 1,024 (128 x 8).
_base_ = ['../zerovl_14m.py']
train_dataloader = dict(batch_size=512)
