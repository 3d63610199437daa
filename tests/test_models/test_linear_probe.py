"""LinearProbeClassifier: loads only the image tower of a dual-encoder checkpoint, keeps it frozen (weights
and BatchNorm statistics), and learns a linearly separable problem with LARS built from a config."""
import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

from zerovl.models import BatchNormNeck, DualEncoder, LinearProbeClassifier

TOWER = dict(type='TimmImageTower', model_name='test_resnet', pretrained=False)  # has BatchNorm layers
TEXT_TOWER = dict(type='HFTextTower', pretrained=False,
                  config=dict(model_type='bert', vocab_size=32, hidden_size=16, num_hidden_layers=1,
                              num_attention_heads=2, intermediate_size=32, max_position_embeddings=16))
PREPROCESSOR = dict(type='ImageTextDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3)
NUM_CLASSES = 4


@pytest.fixture(autouse=True)
def single_thread(one_thread):
    """Every test here trains a tiny model: one thread each (the shared ``one_thread`` fixture)."""


@pytest.fixture
def zerovl_transforms_scope():
    import zerovl.datasets  # noqa: F401  (registers the transforms)
    with DefaultScope.overwrite_default_scope('zerovl'):
        yield


@pytest.fixture(scope='module')
def dual_encoder_checkpoint(tmp_path_factory):
    """A tiny dual encoder whose tower BatchNorm statistics are not the defaults, saved as MMEngine saves."""
    torch.manual_seed(0)
    model = DualEncoder(image_tower=TOWER, text_tower=TEXT_TOWER, embed_dim=8, data_preprocessor=PREPROCESSOR)
    model.train()
    with torch.no_grad():  # move the running statistics away from their (0, 1) initial values
        model.image_tower(torch.randn(4, 3, 32, 32) * 3 + 1)
    path = str(tmp_path_factory.mktemp('ckpt') / 'dual_encoder.pth')
    torch.save(dict(meta=dict(epoch=1), state_dict=model.state_dict()), path)
    return path, {key: value.clone() for key, value in model.image_tower.state_dict().items()}


def build_probe(checkpoint=None, **overrides):
    kwargs = dict(image_tower=TOWER, num_classes=NUM_CLASSES, neck=dict(type='BatchNormNeck'),
                  pretrained=dict(checkpoint=checkpoint) if checkpoint else None, data_preprocessor=PREPROCESSOR)
    kwargs.update(overrides)
    return LinearProbeClassifier(**kwargs)


def toy_batch(num_per_class=8, seed=0):
    """Images whose class is their dominant colour: linearly separable on almost any pooled feature."""
    generator = torch.Generator().manual_seed(seed)
    colours = torch.tensor([[220, 30, 30], [30, 220, 30], [30, 30, 220], [220, 220, 30]], dtype=torch.float32)
    labels = torch.arange(NUM_CLASSES).repeat_interleave(num_per_class)
    noise = torch.randn(len(labels), 3, 32, 32, generator=generator) * 25
    images = (colours[labels][:, :, None, None] + noise).clamp(0, 255).to(torch.uint8)
    data_samples = [dict(gt_label=int(label), dataset_name='toy', sample_idx=i) for i, label in enumerate(labels)]
    return dict(inputs=dict(images=images), data_samples=data_samples)


def test_only_the_image_tower_is_loaded_and_equals_the_source(dual_encoder_checkpoint):
    path, source = dual_encoder_checkpoint
    probe = build_probe(path)
    loaded = probe.image_tower.state_dict()
    assert set(loaded) == set(source)
    for key, value in source.items():
        assert torch.equal(loaded[key], value), key
    # Nothing else of the dual encoder came along.
    assert not any(name.startswith(('text_', 'image_projection', 'loss_module')) for name in probe.state_dict())
    # The Runner calls init_weights() before training: it must not re-initialise the loaded tower.
    probe.init_weights()
    assert all(torch.equal(probe.image_tower.state_dict()[key], value) for key, value in source.items())


def test_a_prefix_that_matches_nothing_names_the_checkpoint(dual_encoder_checkpoint):
    path = dual_encoder_checkpoint[0]
    with pytest.raises(KeyError, match=r"dual_encoder\.pth.*'visual\.'"):
        build_probe(pretrained=dict(checkpoint=path, prefix='visual.'))


def test_a_tower_of_another_architecture_is_refused_with_the_checkpoint_named(dual_encoder_checkpoint):
    path = dual_encoder_checkpoint[0]
    other = dict(type='TimmImageTower', model_name='test_vit', pretrained=False, img_size=32, patch_size=8)
    with pytest.raises(RuntimeError, match=r'dual_encoder\.pth.*does not fit'):
        build_probe(path, image_tower=other)


def test_bn_neck_has_no_affine_and_only_the_head_trains():
    neck = BatchNormNeck(in_dim=6)
    assert list(neck.parameters()) == [] and not neck.bn.affine
    probe = build_probe()
    trainable = {name for name, param in probe.named_parameters() if param.requires_grad}
    assert trainable == {'head.weight', 'head.bias'}
    assert float(probe.head.bias.detach().abs().max()) == 0.0 and float(probe.head.weight.detach().std()) < 0.02
    assert isinstance(build_probe(neck=None).neck, torch.nn.Identity)


def test_forward_modes():
    probe = build_probe().eval()
    data = probe.data_preprocessor(toy_batch(num_per_class=2))
    logits = probe(**data, mode='tensor')
    assert logits.shape == (2 * NUM_CLASSES, NUM_CLASSES)
    predictions = probe(**data, mode='predict')
    assert len(predictions) == 2 * NUM_CLASSES
    first = predictions[0]
    assert set(first) == {'gt_label', 'dataset_name', 'sample_idx', 'pred_score'}
    assert first['pred_score'].shape == (NUM_CLASSES,) and first['pred_score'].device.type == 'cpu'
    torch.testing.assert_close(first['pred_score'].sum(), torch.tensor(1.0))
    assert float(probe(**data, mode='loss')['loss']) > 0
    with pytest.raises(KeyError, match='gt_label'):
        probe(inputs=data['inputs'], data_samples=None, mode='loss')
    with pytest.raises(ValueError, match='unknown mode'):
        probe(**data, mode='features')


def test_learns_a_separable_problem_with_lars_and_leaves_the_frozen_tower_untouched(dual_encoder_checkpoint):
    torch.manual_seed(0)
    probe = build_probe(dual_encoder_checkpoint[0])
    tower_before = {key: value.clone() for key, value in probe.image_tower.state_dict().items()}
    with DefaultScope.overwrite_default_scope('zerovl'):
        # The optimizer of the linear-probe configs, resolved through MMEngine's registries by its scoped name.
        optim_wrapper = build_optim_wrapper(probe, dict(
            type='OptimWrapper',
            optimizer=dict(type='mmpretrain.LARS', lr=20.0, momentum=0.9, weight_decay=0.0, eta=0.001)))
    assert type(optim_wrapper.optimizer).__name__ == 'LARS'
    head_before = probe.head.weight.detach().clone()
    train, test = toy_batch(seed=0), toy_batch(seed=1)
    probe.train()
    assert not probe.image_tower.training and not any(m.training for m in probe.image_tower.modules())
    assert probe.neck.training
    losses = [probe.train_step(train, optim_wrapper)['loss'].item() for _ in range(40)]
    assert losses[-1] < 0.5 * losses[0]
    assert not torch.equal(probe.head.weight, head_before)
    # Weights and BatchNorm buffers (running mean/var, num_batches_tracked) are exactly as loaded.
    for key, value in probe.image_tower.state_dict().items():
        assert torch.equal(value, tower_before[key]), key
    probe.eval()
    with torch.no_grad():
        predictions = probe.test_step(test)
    correct = sum(int(p['pred_score'].argmax()) == p['gt_label'] for p in predictions)
    assert correct / len(predictions) >= 0.9


def test_imagenet_config_is_zerovls_recipe_and_its_pipelines_run(zerovl_transforms_scope):
    import numpy as np
    from mmengine.config import Config
    from mmengine.dataset import Compose

    cfg = Config.fromfile('configs/linear_probe/zerovl_vitb16_in1k.py')
    assert cfg.model.type == 'LinearProbeClassifier' and cfg.model.neck is None and cfg.model.num_classes == 1000
    assert cfg.model.pretrained.prefix == 'image_tower.' and cfg.model.image_tower.pretrained is False
    assert cfg.optim_wrapper.optimizer == dict(type='mmpretrain.LARS', lr=6.4, momentum=0.9, weight_decay=0.0,
                                               eta=0.001)
    assert cfg.auto_scale_lr == dict(base_batch_size=16384, enable=True)
    assert cfg.train_dataloader.batch_size * 8 == 16384
    warmup, cosine = cfg.param_scheduler
    # 10 of the 90 epochs of warm-up, then cosine to the run's end (positions follow train_cfg).
    assert (warmup.type, warmup.end, cosine.type, cosine.begin, cosine.end, cosine.eta_min) == (
        'LinearLR', dict(run_fraction=1 / 9), 'CosineAnnealingLR', dict(run_fraction=1 / 9), None, 0.0)
    assert cfg.train_cfg.max_epochs == 90
    assert cfg.val_evaluator == dict(type='ClassificationAccuracy', topk=(1, 5))
    # Every step after the file loading resolves under the zerovl scope and yields a 224 x 224 pack.
    image = np.random.default_rng(0).integers(0, 256, (300, 400, 3), dtype=np.uint8)
    for pipeline in (cfg.train_pipeline, cfg.test_pipeline):
        assert pipeline[0] == dict(type='LoadImageFromFile')
        packed = Compose(pipeline[1:])(dict(img=image.copy(), img_shape=(300, 400), gt_label=5, dataset_name='in1k'))
        assert packed['inputs']['images'].shape == (3, 224, 224) and packed['data_samples']['gt_label'] == 5
