"""The zero-shot configs: the models are their training configs' models, the pipelines the evaluation ones."""
import cv2
import numpy as np
from mmengine.config import Config

from zerovl.registry import DATASETS, MODELS
from zerovl.utils import register_all_modules

IN1K = 'configs/zero_shot/zerovl_vitb16_in1k.py'
DEMO = 'configs/zero_shot/zerovl_demo_synthetic.py'


def test_demo_zero_shot_model_has_exactly_the_demo_checkpoint_keys():
    register_all_modules()
    zero_shot = Config.fromfile(DEMO).model
    demo = Config.fromfile('configs/zerovl/zerovl_demo.py').model
    assert zero_shot.type == 'ZeroShotClassifier' and zero_shot.tokenizer == 'data/synthetic/vocab.txt'
    # The demo's model minus DGA, a training-step setting with no state of its own.
    assert {key: value for key, value in zero_shot.items()
            if key not in ('type', 'classnames', 'templates', 'tokenizer', 'max_length')} == \
        {key: value for key, value in demo.items() if key not in ('type', 'dga')}
    model = MODELS.build(zero_shot)
    assert model.state_dict().keys() == MODELS.build(demo).state_dict().keys()
    assert sorted(model.tasks) == ['synth_a_colour', 'synth_a_shape', 'synth_b_colour', 'synth_b_shape']


def test_demo_zero_shot_config_evaluates_only():
    """Composed from a model base and an evaluation data base: no training recipe to switch off."""
    cfg = Config.fromfile(DEMO)
    for key in ('train_dataloader', 'train_cfg', 'optim_wrapper', 'param_scheduler', 'val_dataloader',
                'val_evaluator'):
        assert key not in cfg, key
    parts = cfg.test_dataloader.dataset.datasets
    assert [(p.name, p.attribute, p.split) for p in parts] == [
        ('synth_a', 'shape', 'valid'), ('synth_a', 'colour', 'valid'),
        ('synth_b', 'shape', 'valid'), ('synth_b', 'colour', 'valid')]
    assert cfg.test_evaluator == dict(type='ClassificationAccuracy', topk=(1, 5))


def test_in1k_config_is_the_zerovl_model_with_the_retrieval_evaluation_pipeline(tmp_path):
    register_all_modules()
    cfg = Config.fromfile(IN1K)
    base = Config.fromfile('configs/_base_/models/zerovl_vitb16_bert.py').model
    assert cfg.model.type == 'ZeroShotClassifier' and cfg.model.classnames == 'imagenet'
    assert cfg.model.templates == 'general' and cfg.model.tokenizer == 'bert-base-uncased'
    assert cfg.model.image_tower.model_name == base.image_tower.model_name
    assert cfg.model.text_tower.model_name_or_path == base.text_tower.model_name_or_path
    assert cfg.model.embed_dim == base.embed_dim and cfg.model.data_preprocessor == base.data_preprocessor
    # The evaluation pipeline of the retrieval configs, with a label where the tokens were.
    retrieval = Config.fromfile('configs/_base_/datasets/zerovl_pipelines.py').test_pipeline
    image_steps = [step for step in retrieval if step['type'] not in ('Tokenize', 'PackImageTextInputs')]
    assert cfg.test_pipeline == image_steps + [dict(type='PackImageLabel')]
    assert cfg.test_evaluator == dict(type='ClassificationAccuracy', topk=(1, 5))

    # The dataset part runs as configured on a two-class folder tree.
    for index, synset in enumerate(('n01440764', 'n01443537')):
        (tmp_path / synset).mkdir()
        cv2.imwrite(str(tmp_path / synset / 'x.JPEG'), np.full((300, 400, 3), 60 * index, np.uint8))
    dataset = DATASETS.build(dict(cfg.test_dataloader.dataset, data_root=str(tmp_path)))
    sample = dataset[1]
    assert sample['inputs']['images'].shape == (3, 224, 224)
    assert sample['data_samples']['gt_label'] == 1 and sample['data_samples']['dataset_name'] == 'imagenet'
