# ImageNet-1K for linear probing (docs/method.md §2.9), ImageNet-style folders:
#   data/imagenet/train/<synset>/<image>.JPEG and data/imagenet/val/<synset>/<image>.JPEG
# (classes are the sorted synset folders). For a flat val folder, give its list file instead:
#   val_dataloader.dataset.ann_file='val.txt' with lines "ILSVRC2012_val_00000001.JPEG 65".
# Batch sizes are per GPU: 2,048 x 8 GPUs = ZeroVL's (and MAE's) global batch of 16,384.
data_root = 'data/imagenet'
dataset_name = 'imagenet'

train_pipeline = [
    dict(type='LoadImageFromFile'),
    # torchvision's RandomResizedCrop(224) with its default scale (0.08, 1) and bilinear resizing.
    dict(type='mmpretrain.RandomResizedCrop', scale=224, crop_ratio_range=(0.08, 1.0),
         aspect_ratio_range=(3. / 4., 4. / 3.), interpolation='bilinear', backend='pillow'),
    # MAE's linear-probe augmentation is the crop and a horizontal flip, which keeps every ImageNet label.
    dict(type='mmcv.RandomFlip', prob=0.5, direction='horizontal'),
    # ZeroVL's probe adds AutoAugment (ImageNet policy, grey fill), as in its pre-training pipeline; delete
    # this step for MAE's protocol.
    dict(type='AutoAugmentRGB', policies='imagenet', hparams=dict(pad_val=(128, 128, 128))),
    dict(type='PackImageLabel'),
]
# ZeroVL's evaluation squashes to 256 x 256 (aspect ratio not kept), then crops the centre 224.
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeImage', size=256, keep_ratio=False, interpolation='bicubic'),
    dict(type='CenterCrop', size=224),
    dict(type='PackImageLabel'),
]

train_dataloader = dict(
    batch_size=2048,
    num_workers=10,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='zerovl.image_text_collate'),
    dataset=dict(type='ImageFolderDataset', data_root=data_root + '/train', name=dataset_name,
                 pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=256,
    num_workers=10,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='zerovl.image_text_collate'),
    dataset=dict(type='ImageFolderDataset', data_root=data_root + '/val', name=dataset_name,
                 pipeline=test_pipeline, test_mode=True),
)
val_evaluator = dict(type='ClassificationAccuracy', topk=(1, 5))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
