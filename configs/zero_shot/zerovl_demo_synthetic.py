# Zero-shot classification with the demo model (configs/zerovl/zerovl_demo.py) on the held-out images of
# the synthetic set: each domain's shapes and colours, named in words, never seen as labels in training.
#   python tools/dataset_converters/make_synthetic.py data/synthetic   (writes the concept tables this reads)
#   python tools/test.py configs/zero_shot/zerovl_demo_synthetic.py work_dirs/zerovl_demo/epoch_6.pth
# Evaluation only: the demo's model base and the synthetic concept data, no training recipe.
_base_ = [
    '../_base_/models/demo_resnet10t_bert2.py',
    '../_base_/datasets/synthetic_concepts.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='ZeroShotClassifier',
    # Each attribute's values with the words both domains' captions use for them ('circle', 'dot', 'disc',
    # 'orb'): the classifier is told the attribute, not the domain. Keyed by each dataset's dataset_name.
    classnames={f'{domain}_{attribute}': f'synthetic_{attribute}'
                for domain in _base_.domains for attribute in _base_.attributes},
    templates='synthetic',  # prompts made only of words in the synthetic vocabulary
    tokenizer=_base_.data_root + '/vocab.txt',
    max_length=25,
    # Unused in evaluation; present as in the demo so that its checkpoints' mixup step counter loads into it
    # instead of being reported as an unexpected key.
    mixup=dict(type='CoinFlipMixup', beta=0.1),
)
