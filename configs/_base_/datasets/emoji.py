# Real image-caption pairs that install offline: the Google emoji of npm's emoji-datasource-google 16.0.0
# with their Unicode names and short names as captions, in ZeroVL's original layout (docs/real_demo.md):
#   npm install --prefix data/npm emoji-datasource-google@16.0.0          (make real-assets)
#   python tools/dataset_converters/emoji_to_csv.py data/npm/node_modules/emoji-datasource-google data
# 1,624 training images (2,133 captions) and 286 held-out images (376 captions), 64 x 64 RGB on white.
# The pipelines below are built with this file's tokenizer (MiniLM's WordPiece) and image size (64 px; why:
# configs/real/zerovl_emoji_lite0_minilm.py); a config with other towers rebuilds them with its own.
data_root = 'data'
name = 'emoji'
tokenizer = 'data/pretrained/all-MiniLM-L6-v2'
image_size = 64
# 99 % of the captions are at most 11 tokens with [CLS] and [SEP] (mean 4.7); at 16 one caption of 2,509
# is cut, and a MiniLM step costs a third less than at ZeroVL's 25 (measured: docs/real_demo.md).
max_length = 16

# ZeroVL's crop (area 0.6-1); no AutoAugment and no flip: captions name colours ('large brown square',
# 'red apple') and directions ('leftwards arrow'), which its colour operations and a flip would contradict.
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

# No worker processes: decoding a 64 px PNG and tokenising a few words is far cheaper than the step, and on
# a 2-core machine workers would only take cores from the model.
train_dataloader = dict(
    batch_size=128,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    # One source, so debiased and shuffled batches are the same thing; ZeroVL's sampler is kept for the recipe.
    batch_sampler=dict(type='DebiasedBatchSampler', mode='debias'),
    collate_fn=dict(type='zerovl.image_text_collate'),
    dataset=dict(type='ImageTextDataset', data_root=data_root, name=name, split='train', pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=128,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='zerovl.image_text_collate'),
    dataset=dict(type='ImageTextDataset', data_root=data_root, name=name, split='valid', pipeline=test_pipeline,
                 test_mode=True),
)
val_evaluator = dict(type='RetrievalMetric')
test_dataloader = val_dataloader
test_evaluator = val_evaluator
