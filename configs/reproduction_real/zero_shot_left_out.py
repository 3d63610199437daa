# Zero-shot classification on the source left out of training (issue 19 item 3), for a run of
# configs/reproduction_real/lite0_minilm_sources.py: every image of that source (both splits: none was trained)
# that belongs to one of the nine Unicode emoji groups, classified by the group's name in words. The lists and
# the names are written by `make real-multisource` ({source}/{split}_groups.txt, groups.txt).
#   python tools/test.py configs/reproduction_real/zero_shot_left_out.py RUN_DIR/iter_44.pth
# Evaluation only: the study's model base as a ZeroShotClassifier (same parameters, so the runs' checkpoints
# load unchanged) and the left-out source's images, no training recipe.
_base_ = ['../_base_/models/lite0_minilm.py', '../_base_/default_runtime.py']

left_out = 'openmoji'
data_root = 'data/emoji_sources'
image_size = 32  # the study's

model = dict(
    type='ZeroShotClassifier',
    # zerovl.datasets.converters.emoji_sources.ZERO_SHOT_GROUPS, in label order (groups.txt).
    classnames=['smileys and emotion', 'people and body', 'animals and nature', 'food and drink',
                'travel and places', 'activities', 'objects', 'symbols', 'flags'],
    # No style of any one source: no source's captions use these sentences.
    templates=['{}', 'an emoji of {}.', 'a picture from the {} group.'],
    tokenizer=_base_.text_model,
    max_length=16,  # the study's
)

test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeImage', size=image_size),
    dict(type='PackImageLabel'),
]
test_dataloader = dict(
    batch_size=256,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='zerovl.image_text_collate'),
    dataset=dict(type='ConcatDataset',
                 datasets=[dict(type='ImageFolderDataset', data_root=f'{data_root}/{left_out}', name='left_out',
                                ann_file=f'{split}_groups.txt', classes=f'{data_root}/groups.txt',
                                pipeline=test_pipeline) for split in ('train', 'valid')]),
)
# 'left_out/top1': one dataset name for both splits, so one accuracy over all the source's images.
test_evaluator = dict(type='ClassificationAccuracy', topk=(1, 3))
test_cfg = dict(type='TestLoop')
