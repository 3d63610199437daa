# Base of the real-towers reproduction of ZeroVL's ablations (issue 19; tools/analysis_tools/reproduce_real.py,
# docs/reproduction.md "The real-towers study"): ZeroVL's regime at small scale, pretrained towers fine-tuned on
# real pairs from several sources of different style. EfficientNet-Lite0 (ImageNet) and all-MiniLM-L6-v2 as in
# configs/real/zerovl_emoji_lite0_minilm.py, on the multi-source emoji set of `make real-multisource`
# (zerovl/datasets/converters/emoji_sources.py): Google and Twitter art trained, OpenMoji (other art, other
# captions) left out of training and evaluated as the transfer source (issue 19 item 3); the held-out concepts
# of every source are never trained in any source.
# This file is the *baseline* arm, as configs/reproduction/cpu_two_domain.py is for the synthetic study:
# shuffled batches of 128, no mixup, no DGA, a constant temperature of 0.02; the runner adds each arm's overrides.
#   python tools/train.py configs/reproduction_real/lite0_minilm_sources.py
_base_ = ['../_base_/default_runtime.py']

data_root = 'data/emoji_sources'
train_sources = ['google', 'twitter']
eval_sources = ['google', 'twitter', 'openmoji']  # the last one never trained: transfer
pretrained = 'data/pretrained'
tokenizer = pretrained + '/all-MiniLM-L6-v2'
# 32 px and 44 steps: the whole study (54 runs) has to fit about 2 hours of this 2-core CPU (the estimate and
# how it was measured: docs/reproduction.md, "The real-towers study").
image_size = 32
# 16 tokens with [CLS] and [SEP]: the text tower is most of a step's cost (MiniLM at 24 tokens cost about twice
# the time at 16, measured with process time on this 2-core CPU), and 16 cuts none of Google's training captions
# and 3 % of Twitter's sentences (their ends); OpenMoji's longer tag lists are only evaluated, cut after ~6 tags.
max_length = 16
max_iters = 44
val_interval = 22

model = dict(
    type='DualEncoder',
    embed_dim=256,
    image_tower=dict(type='TimmImageTower', model_name='tf_efficientnet_lite0', pretrained=True,
                     checkpoint=pretrained + '/tf_efficientnet_lite0.safetensors'),
    text_tower=dict(type='HFTextTower', model_name_or_path=tokenizer, pretrained=True, pooling='mean'),
    projection=dict(type='LinearProjection'),
    loss=dict(type='InfoNCELoss', gather_with_grad=True, temperature=dict(init=0.02, learnable=False)),
    # EfficientNet-Lite's TF weights expect pixels in [-1, 1].
    data_preprocessor=dict(type='ImageTextDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3),
)

# No flip and no colour augmentation: captions name directions and colours (configs/_base_/datasets/emoji.py).
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mmpretrain.RandomResizedCrop', scale=image_size, crop_ratio_range=(0.6, 1.0),
         aspect_ratio_range=(3. / 4., 4. / 3.), interpolation='bicubic', backend='pillow'),
    dict(type='CaptionAugment', tokenizer=tokenizer, mask_prob=0.10, random_prob=0.02, delete_prob=0.08),
    dict(type='Tokenize', tokenizer=tokenizer, max_length=max_length),
    dict(type='PackImageTextInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeImage', size=image_size),
    dict(type='Tokenize', tokenizer=tokenizer, max_length=max_length),
    dict(type='PackImageTextInputs'),
]
# Workers off: on a 2-core machine a worker only takes a core from the step (and the runner runs 2 at once).
train_dataloader = dict(
    batch_size=128,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='DebiasedBatchSampler', mode='shuffle'),
    collate_fn=dict(type='zerovl.image_text_collate'),
    dataset=dict(type='ConcatDataset',
                 datasets=[dict(type='ImageTextDataset', data_root=data_root, name=name, split='train',
                                pipeline=train_pipeline) for name in train_sources]))
val_dataloader = dict(
    batch_size=256,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='zerovl.image_text_collate'),
    dataset=dict(type='ConcatDataset',
                 datasets=[dict(type='ImageTextDataset', data_root=data_root, name=name, split='valid',
                                pipeline=test_pipeline, test_mode=True) for name in eval_sources]))
test_dataloader = val_dataloader
# Per-source RSUM ('openmoji/rsum' is the transfer), their mean, and how far apart the sources sit.
val_evaluator = [dict(type='RetrievalMetric'), dict(type='DomainGapMetric')]
test_evaluator = val_evaluator

# ZeroVL's AdamW at lr 1e-4 for the pretrained towers; the projection heads start from random and get 10 x.
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.98), eps=1e-6, weight_decay=0.1),
                     paramwise_cfg=dict(custom_keys={'_projection': dict(lr_mult=10.0)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=dict(run_fraction=0.1)),
    dict(type='CosineAnnealingLR', eta_min_ratio=0.1, by_epoch=False, begin=dict(run_fraction=0.1), end=None),
]
train_cfg = dict(type='PromptIterBasedTrainLoop', max_iters=max_iters, val_interval=val_interval)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
log_processor = dict(by_epoch=False)
# The last checkpoint only: the runner's zero-shot test reads it, then deletes it (a run's result is its curves).
default_hooks = dict(logger=dict(interval=10),
                     checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1, save_last=True))
# MessageHubStateHook: checkpoints free of pickled objects, so the zero-shot test loads them with weights_only.
custom_hooks = [dict(type='MessageHubStateHook'), dict(type='IterationSeedHook'), dict(type='TrainingCurvesHook')]
randomness = dict(seed=0, deterministic=False)
