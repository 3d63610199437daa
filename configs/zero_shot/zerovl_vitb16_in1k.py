# Zero-shot ImageNet-1k classification with ZeroVL's ViT-B/16 + BERT dual encoder: the 1,000 class names
# in an ensemble of general photo prompts, scored against each validation image (docs/zero_shot.md).
#   python tools/test.py configs/zero_shot/zerovl_vitb16_in1k.py work_dirs/zerovl_14m/epoch_20.pth
# data/imagenet/val holds the 50,000 validation images in one folder per synset (n01440764/...), whose
# sorted order is the label order of the class names ('imagenet' set: timm's synset-sorted list).
# Offline: --cfg-options model.tokenizer=/path/bert model.text_tower.model_name_or_path=/path/bert
_base_ = ['../_base_/models/zerovl_vitb16_bert.py', '../_base_/default_runtime.py']

data_root = 'data/imagenet/val'
tokenizer = 'bert-base-uncased'  # the text tower's own tokenizer, as in training

model = dict(
    type='ZeroShotClassifier',
    classnames='imagenet',
    templates='general',
    tokenizer=tokenizer,
    max_length=25,
    # The checkpoint holds every weight: build the towers' architectures without fetching weights.
    image_tower=dict(pretrained=False),
    text_tower=dict(pretrained=False),
    # Unused in evaluation; present as in configs/zerovl/zerovl_14m.py so that the checkpoint's mixup
    # step counter loads into it instead of being reported as an unexpected key.
    mixup=dict(type='CoinFlipMixup', beta=0.1),
)

# As the evaluation pipeline of configs/_base_/datasets/zerovl_pipelines.py (squash to 256 x 256, centre
# 224 crop), with a label instead of tokens.
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeImage', size=256, keep_ratio=False, interpolation='bicubic'),
    dict(type='CenterCrop', size=224),
    dict(type='PackImageLabel'),
]
test_dataloader = dict(
    batch_size=256,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='zerovl.image_text_collate'),
    dataset=dict(type='ImageFolderDataset', data_root=data_root, name='imagenet', pipeline=test_pipeline),
)
test_evaluator = dict(type='ClassificationAccuracy', topk=(1, 5))
test_cfg = dict(type='TestLoop')
