# Zero-shot classification with the demo model (configs/zerovl/zerovl_demo.py) on the held-out images of
# the synthetic set: each domain's shapes and colours, named in words, never seen as labels in training.
#   python tools/dataset_converters/make_synthetic.py data/synthetic   (writes the concept tables this reads)
#   python tools/test.py configs/zero_shot/zerovl_demo_synthetic.py work_dirs/zerovl_demo/epoch_6.pth
# The demo's model, as a ZeroShotClassifier: same parameters and buffers (mixup's step counter included),
# so its checkpoints load with no missing or unexpected key. Training is switched off: this only evaluates.
_base_ = ['../zerovl/zerovl_demo.py']

data_root = 'data/synthetic'
tokenizer = data_root + '/vocab.txt'
domains = ['synth_a', 'synth_b']
attributes = ['shape', 'colour']
image_size = 64

model = dict(
    type='ZeroShotClassifier',
    # Each attribute's values with the words both domains' captions use for them ('circle', 'dot', 'disc',
    # 'orb'): the classifier is told the attribute, not the domain. Keyed by each dataset's dataset_name.
    classnames={f'{domain}_{attribute}': f'synthetic_{attribute}' for domain in domains for attribute in attributes},
    templates='synthetic',  # prompts made only of words in the synthetic vocabulary
    tokenizer=tokenizer,
    max_length=25,
)

test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeImage', size=image_size),
    dict(type='PackImageLabel'),
]
test_dataloader = dict(
    _delete_=True,
    batch_size=100,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='zerovl.image_text_collate'),
    dataset=dict(
        type='ConcatDataset',
        # Shape and colour datasets have different class lists.
        ignore_keys=['classes'],
        datasets=[dict(type='SyntheticConceptDataset', data_root=data_root, name=domain, split='valid',
                       attribute=attribute, pipeline=test_pipeline)
                  for domain in domains for attribute in attributes]),
)
test_evaluator = dict(_delete_=True, type='ClassificationAccuracy', topk=(1, 5))
test_cfg = dict(type='TestLoop')

train_dataloader = None
train_cfg = None
optim_wrapper = None
param_scheduler = None
val_dataloader = None
val_cfg = None
val_evaluator = None
