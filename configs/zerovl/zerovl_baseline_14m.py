# The paper's baseline on the same 14M data and towers: random (shuffled) sampling across datasets, no
# mixup, no gradient accumulation, global batch 1,024 (128 x 8 GPUs).
_base_ = ['./zerovl_14m.py']

model = dict(mixup=None, dga=None)
train_dataloader = dict(batch_size=128, batch_sampler=dict(mode='shuffle'))
