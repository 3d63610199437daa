"""ZeroVL's training pipeline (configs/_base_/datasets/zerovl_pipelines.py) on synthetic images.

RandomResizedCrop is mmpretrain's; AutoAugmentRGB runs mmpretrain's ImageNet policy on RGB images. These
tests check that both run on our RGB uint8 images, that the config sets them up as ZeroVL did (§2.6), and
that the augmentation operations agree with PIL's, which the original applied to RGB images.
"""
import copy
import csv
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from PIL import Image, ImageEnhance, ImageOps

from zerovl.datasets.synthetic import make_synthetic_dataset
from zerovl.datasets.transforms import AutoAugmentRGB
from zerovl.registry import TRANSFORMS

CONFIG = Path(__file__).parents[2] / 'configs' / '_base_' / 'datasets' / 'zerovl_pipelines.py'
GREY = (128, 128, 128)


@pytest.fixture(scope='module')
def synthetic(tmp_path_factory) -> dict:
    return make_synthetic_dataset(tmp_path_factory.mktemp('synthetic'), train_a=8, train_b=4, valid_images=2)


@pytest.fixture(scope='module')
def samples(synthetic) -> list:
    """(img_path, caption) of the training rows of both domains."""
    rows = []
    for domain in synthetic['domains'].values():
        with open(domain['train']['anno'], newline='', encoding='utf-8') as f:
            rows += [(str(Path(domain['train']['image_dir']) / row['image']), row['caption'])
                     for row in csv.DictReader(f)]
    return rows


def pipeline_cfg(name: str, vocab: str) -> list:
    """A pipeline of the config with its tokenizer pointed at the offline synthetic vocabulary."""
    cfg = copy.deepcopy(Config.fromfile(str(CONFIG))[name])
    for step in cfg:
        if 'tokenizer' in step:
            step['tokenizer'] = vocab
    return cfg


def step_cfg(type_name: str) -> dict:
    cfg = Config.fromfile(str(CONFIG))
    return next(step for step in cfg.train_pipeline + cfg.reference_train_pipeline if step['type'] == type_name)


def run(pipeline, img_path, caption, seed):
    np.random.seed(seed)
    return pipeline(dict(img_path=img_path, caption=caption))


@pytest.mark.parametrize('name', ['train_pipeline', 'reference_train_pipeline', 'test_pipeline'])
def test_pipeline_outputs(synthetic, samples, zerovl_scope, name):
    pipeline = Compose(pipeline_cfg(name, synthetic['vocab']))
    for seed, (img_path, caption) in enumerate(samples[:6]):
        inputs = run(pipeline, img_path, caption, seed)['inputs']
        assert inputs['images'].shape == (3, 224, 224) and inputs['images'].dtype == torch.uint8
        assert inputs['input_ids'].shape == inputs['attention_mask'].shape == (25,)


def test_pipeline_steps():
    cfg = Config.fromfile(str(CONFIG))
    assert [step['type'] for step in cfg.train_pipeline] == [
        'LoadImageFromFile', 'FastRandomResizedCrop', 'FastAutoAugment', 'CaptionAugment', 'Tokenize',
        'PackImageTextInputs']
    # The mmpretrain-based steps the fast ones are tested against (test_fast_train_pipeline.py).
    assert [step['type'] for step in cfg.reference_train_pipeline] == [
        'LoadImageFromFile', 'mmpretrain.RandomResizedCrop', 'AutoAugmentRGB', 'CaptionAugment', 'Tokenize',
        'PackImageTextInputs']
    # Evaluation is deterministic: no crop jitter, no AutoAugment, no caption augmentation.
    assert [step['type'] for step in cfg.test_pipeline] == [
        'LoadImageFromFile', 'ResizeImage', 'CenterCrop', 'Tokenize', 'PackImageTextInputs']


def test_train_pipeline_is_seeded_and_random(synthetic, samples, zerovl_scope):
    pipeline = Compose(pipeline_cfg('train_pipeline', synthetic['vocab']))
    img_path, caption = samples[0]
    first, again = run(pipeline, img_path, caption, 0), run(pipeline, img_path, caption, 0)
    assert torch.equal(first['inputs']['images'], again['inputs']['images'])
    assert torch.equal(first['inputs']['input_ids'], again['inputs']['input_ids'])
    outputs = [run(pipeline, img_path, caption, seed)['inputs'] for seed in range(10)]
    assert len({out['images'].numpy().tobytes() for out in outputs}) == 10
    assert len({tuple(out['input_ids'].tolist()) for out in outputs}) > 1  # captions are augmented too


def test_train_pipeline_pickles(synthetic, samples, zerovl_scope):
    """DataLoader workers started by spawn receive the pipeline pickled."""
    pipeline = Compose(pipeline_cfg('train_pipeline', synthetic['vocab']))
    img_path, caption = samples[0]
    expected = run(pipeline, img_path, caption, 3)
    clone = pickle.loads(pickle.dumps(pipeline))
    assert torch.equal(run(clone, img_path, caption, 3)['inputs']['images'], expected['inputs']['images'])


def test_random_resized_crop_area_and_ratio(zerovl_scope):
    """The crop box covers 60-100 % of the image with an aspect ratio in [3/4, 4/3], up to rounding."""
    rrc = TRANSFORMS.build(step_cfg('mmpretrain.RandomResizedCrop'))
    height, width = 300, 400
    img = np.zeros((height, width, 3), np.uint8)
    np.random.seed(0)
    boxes = [rrc.rand_crop_params(img) for _ in range(500)]
    for top, left, crop_h, crop_w in boxes:
        assert 0 <= top <= height - crop_h and 0 <= left <= width - crop_w
        # Side lengths are rounded to whole pixels: allow half a pixel on each side.
        assert 0.6 * height * width - (crop_h + crop_w) <= crop_h * crop_w <= height * width
        assert 3 / 4 - 2 / crop_h <= crop_w / crop_h <= 4 / 3 + 2 / crop_h
    areas = [crop_h * crop_w / (height * width) for _, _, crop_h, crop_w in boxes]
    assert min(areas) < 0.65 and max(areas) > 0.95  # the whole range is used
    out = rrc(dict(img=np.zeros((64, 48, 3), np.uint8)))['img']
    assert out.shape == (224, 224, 3) and out.dtype == np.uint8


@pytest.mark.parametrize('type_name', ['FastAutoAugment', 'AutoAugmentRGB'])
def test_auto_augment_is_the_imagenet_policy_with_grey_fill(zerovl_scope, type_name):
    auto_augment = TRANSFORMS.build(step_cfg(type_name))
    assert type(auto_augment).__name__ == type_name
    assert len(auto_augment.sub_policies) == 25 and all(len(sub) == 2 for sub in auto_augment.sub_policies)
    geometric = [op for sub in auto_augment.sub_policies for op in sub if type(op).__name__ in ('Rotate', 'Shear')]
    assert len(geometric) == 7 and all(tuple(op.pad_val) == GREY for op in geometric)


def test_mmpretrain_auto_augment_drops_hparams(zerovl_scope):
    """Why AutoAugmentRGB exists (mmpretrain 1.2.0): its own AutoAugment never hands pad_val to Rotate."""
    theirs = TRANSFORMS.build(dict(type='AutoAugment', _scope_='mmpretrain', policies='imagenet',
                                   hparams=dict(pad_val=GREY)))
    rotates = [op for sub in theirs.transforms for op in sub.transforms if type(op).__name__ == 'Rotate']
    assert rotates and all(op.pad_val == 128 for op in rotates)


def one_op(op_cfg: dict, **hparams) -> AutoAugmentRGB:
    """AutoAugmentRGB with a single sub-policy of one operation that always fires."""
    return AutoAugmentRGB(policies=[[dict(op_cfg, prob=1.0)]], **hparams)


@pytest.mark.parametrize('op_cfg', [dict(type='Rotate', angle=30., random_negative_prob=0.0),
                                    dict(type='Shear', magnitude=0.3, random_negative_prob=0.0)])
@pytest.mark.parametrize('pad_val', [128, GREY])
def test_geometric_ops_fill_grey(op_cfg, pad_val):
    out = one_op(op_cfg, hparams=dict(pad_val=pad_val))(dict(img=np.full((40, 60, 3), 200, np.uint8)))['img']
    assert tuple(out[-1, 0]) == GREY


@pytest.fixture
def colourful() -> np.ndarray:
    img = np.random.default_rng(0).integers(0, 200, (48, 64, 3), dtype=np.uint8)
    img[:16] = (220, 30, 30)  # saturated red, where swapped grey weights of R and B show most
    return img


# ZeroVL's operations are PIL's, on RGB images; each case pairs an mmpretrain operation with that reference.
def colour(factor):
    return lambda image: ImageEnhance.Color(image).enhance(factor)


def contrast(factor):
    return lambda image: ImageEnhance.Contrast(image).enhance(factor)


PIL_REFERENCES = [
    (dict(type='ColorTransform', magnitude=0.8, random_negative_prob=0.0), colour(1.8)),
    (dict(type='ColorTransform', magnitude=0.8, random_negative_prob=1.0), colour(0.2)),
    (dict(type='Contrast', magnitude=0.8, random_negative_prob=0.0), contrast(1.8)),
    (dict(type='Contrast', magnitude=0.8, random_negative_prob=1.0), contrast(0.2)),
    (dict(type='Posterize', bits=4), lambda image: ImageOps.posterize(image, 4)),
    (dict(type='Solarize', thr=256 / 9 * 4), lambda image: ImageOps.solarize(image, 256 / 9 * 4)),
    (dict(type='Equalize'), ImageOps.equalize),
    (dict(type='AutoContrast'), ImageOps.autocontrast),
    (dict(type='Invert'), ImageOps.invert),
]


@pytest.mark.parametrize('op_cfg, reference', PIL_REFERENCES,
                         ids=[f"{cfg['type']}{i}" for i, (cfg, _) in enumerate(PIL_REFERENCES)])
def test_operations_match_pil_on_rgb(colourful, op_cfg, reference):
    ours = one_op(op_cfg)(dict(img=colourful.copy()))['img'].astype(int)
    expected = np.asarray(reference(Image.fromarray(colourful))).astype(int)
    # Up to 2 levels: the grey image is rounded before blending (cv2 and PIL round differently).
    assert np.abs(ours - expected).max() <= 2


def test_sharpness_matches_pil_inside_the_border(colourful):
    # PIL leaves the one-pixel border unsharpened; mmcv filters it too (a difference we accept).
    sharpen = one_op(dict(type='Sharpness', magnitude=0.7, random_negative_prob=0.0))
    ours = sharpen(dict(img=colourful.copy()))['img']
    expected = np.asarray(ImageEnhance.Sharpness(Image.fromarray(colourful)).enhance(1.7))
    np.testing.assert_array_equal(ours[1:-1, 1:-1], expected[1:-1, 1:-1])


def test_mmcv_colour_ops_assume_bgr(colourful, zerovl_scope):
    """Why AutoAugmentRGB flips channels: mmpretrain's Color on an RGB array is far from PIL's."""
    theirs = TRANSFORMS.build(dict(type='mmpretrain.ColorTransform', magnitude=0.8, prob=1.0,
                                   random_negative_prob=0.0))
    on_rgb = theirs(dict(img=colourful.copy()))['img'].astype(int)
    expected = np.asarray(ImageEnhance.Color(Image.fromarray(colourful)).enhance(1.8)).astype(int)
    assert np.abs(on_rgb - expected).max() > 20


def test_unknown_policy():
    with pytest.raises(ValueError, match='unknown policy'):
        AutoAugmentRGB(policies='cifar')
