# ZeroVL's per-sample pipelines (method doc §2.5, §2.6), for dataset configs to take through ``_base_``.
# Training: RandomResizedCrop -> AutoAugment (ImageNet policy) -> caption augmentation -> tokens.
# Evaluation: squash to 256 x 256 -> centre 224 crop -> tokens; no augmentation.
tokenizer = 'bert-base-uncased'  # the text tower's own tokenizer; CaptionAugment and Tokenize share it
max_length = 25  # tokens per caption, [CLS] and [SEP] included

# The crop boxes and AutoAugment draws are those of reference_train_pipeline below, seed for seed (the same
# numpy draws in the same order); only the pixel work is faster (measured in docs/benchmarks.md):
# torch's uint8 antialiased resize (PIL's filter, within one grey level), each AutoAugment operation as
# one uint8 table or OpenCV call (the same pixels as mmpretrain's), tokens from the tokenizer's Rust backend.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    # torchvision's RandomResizedCrop(224, scale=(0.6, 1.0)) on a PIL image: same area fraction and
    # aspect-ratio range, antialiased bilinear as PIL resizes.
    dict(type='FastRandomResizedCrop', scale=224, crop_ratio_range=(0.6, 1.0), aspect_ratio_range=(3. / 4., 4. / 3.)),
    # The 25 sub-policies of the ImageNet AutoAugment policy, one drawn uniformly per image, fill grey 128.
    dict(type='FastAutoAugment', policies='imagenet', hparams=dict(pad_val=(128, 128, 128))),
    dict(type='CaptionAugment', tokenizer=tokenizer, mask_prob=0.10, random_prob=0.02, delete_prob=0.08),
    dict(type='Tokenize', tokenizer=tokenizer, max_length=max_length),
    dict(type='PackImageTextInputs'),
]
# The same augmentation run by mmpretrain's operations: what the fast pipeline is tested against
# (tests/test_datasets/test_fast_train_pipeline.py) and timed beside (tools/benchmarks/benchmark_dataloader.py).
reference_train_pipeline = [
    train_pipeline[0],
    # mmpretrain's RandomResizedCrop with the 'pillow' backend resizes as PIL does (antialiased bilinear).
    dict(type='mmpretrain.RandomResizedCrop', scale=224, crop_ratio_range=(0.6, 1.0),
         aspect_ratio_range=(3. / 4., 4. / 3.), interpolation='bilinear', backend='pillow'),
    # mmpretrain's table and operations, run by our AutoAugmentRGB, which feeds them BGR (as mmcv's colour
    # operations expect) and really passes pad_val on (mmpretrain 1.2.0's own AutoAugment drops hparams).
    dict(type='AutoAugmentRGB', policies='imagenet', hparams=dict(pad_val=(128, 128, 128))),
    *train_pipeline[3:],  # the same caption augmentation, tokens and packing
]
# The original evaluation squashes to 256 x 256 (no aspect ratio kept), then crops the centre 224.
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeImage', size=256, keep_ratio=False, interpolation='bicubic'),
    dict(type='CenterCrop', size=224),
    dict(type='Tokenize', tokenizer=tokenizer, max_length=max_length),
    dict(type='PackImageTextInputs'),
]
