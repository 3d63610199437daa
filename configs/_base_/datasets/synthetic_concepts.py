# Zero-shot classification data on the bundled synthetic set (tools/dataset_converters/make_synthetic.py
# data/synthetic, which also writes the concept tables read here): each domain's held-out images, labelled
# with one attribute (shape or colour) whose values were never labels in training. Evaluation only.
data_root = 'data/synthetic'
domains = ['synth_a', 'synth_b']
attributes = ['shape', 'colour']
image_size = 64

test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeImage', size=image_size),
    dict(type='PackImageLabel'),
]
test_dataloader = dict(
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
test_evaluator = dict(type='ClassificationAccuracy', topk=(1, 5))
test_cfg = dict(type='TestLoop')
