# ZeroVL's per-sample pipelines (method doc §2.5, §2.6), for dataset configs to take through ``_base_``.
# Training: RandomResizedCrop -> AutoAugment (ImageNet policy) -> caption augmentation -> tokens.
# Evaluation: squash to 256 x 256 -> centre 224 crop -> tokens; no augmentation.
tokenizer = 'bert-base-uncased'  # the text tower's own tokenizer; CaptionAugment and Tokenize share it
max_length = 25  # tokens per caption, [CLS] and [SEP] included

train_pipeline = [
    dict(type='LoadImageFromFile'),
    # torchvision's RandomResizedCrop(224, scale=(0.6, 1.0)) on a PIL image: the area fraction and the
    # aspect-ratio range are the same; the 'pillow' backend resizes as PIL does (antialiased bilinear).
    dict(type='mmpretrain.RandomResizedCrop', scale=224, crop_ratio_range=(0.6, 1.0),
         aspect_ratio_range=(3. / 4., 4. / 3.), interpolation='bilinear', backend='pillow'),
    # The 25 sub-policies of the ImageNet AutoAugment policy, one drawn uniformly per image, fill grey 128:
    # mmpretrain's table and operations, run by our AutoAugmentRGB, which feeds them BGR (as mmcv's colour
    # operations expect) and really passes pad_val on (mmpretrain 1.2.0's own AutoAugment drops hparams).
    dict(type='AutoAugmentRGB', policies='imagenet', hparams=dict(pad_val=(128, 128, 128))),
    dict(type='CaptionAugment', tokenizer=tokenizer, mask_prob=0.10, random_prob=0.02, delete_prob=0.08),
    dict(type='Tokenize', tokenizer=tokenizer, max_length=max_length),
    dict(type='PackImageTextInputs'),
]
# The original evaluation squashes to 256 x 256 (no aspect ratio kept), then crops the centre 224.
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeImage', size=256, keep_ratio=False, interpolation='bicubic'),
    dict(type='CenterCrop', size=224),
    dict(type='Tokenize', tokenizer=tokenizer, max_length=max_length),
    dict(type='PackImageTextInputs'),
]
