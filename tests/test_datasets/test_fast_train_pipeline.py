"""The fast training transforms against the ones they replace (issue 16, item 3): same draws, same pixels.

FastRandomResizedCrop vs mmpretrain's RandomResizedCrop (pillow backend), FastAutoAugment vs
AutoAugmentRGB (mmpretrain's operations), and the configs' train_pipeline vs reference_train_pipeline.
"""
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import Compose

from zerovl.datasets.transforms import AutoAugmentRGB, FastAutoAugment, FastRandomResizedCrop
from zerovl.datasets.transforms.fast_auto_augment import OPERATIONS
from zerovl.datasets.transforms.fast_crop import draw_crop_box
from zerovl.registry import TRANSFORMS

CONFIG = Path(__file__).parents[2] / 'configs' / '_base_' / 'datasets' / 'zerovl_pipelines.py'
SHAPES = [(300, 400), (480, 256), (224, 224), (64, 48), (20, 400), (400, 20)]  # the last two fall back


def photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Smooth colour regions plus fine noise: histograms and edges as photos have them."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (max(2, height // 16), max(2, width // 16), 3)).astype(np.float32)
    img = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC) + rng.normal(0, 6, (height, width, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.fixture(scope='module')
def reference_crop():
    from mmpretrain.datasets.transforms import RandomResizedCrop
    return RandomResizedCrop(scale=224, crop_ratio_range=(0.6, 1.0), aspect_ratio_range=(3. / 4., 4. / 3.),
                             interpolation='bilinear', backend='pillow')


# ------------------------------------------------------------------------------------------ the crop

@pytest.mark.parametrize('shape', SHAPES)
def test_crop_boxes_are_mmpretrains_seed_for_seed(reference_crop, shape):
    img = np.zeros((*shape, 3), np.uint8)
    for seed in range(200):
        np.random.seed(seed)
        expected = reference_crop.rand_crop_params(img)
        after_reference = np.random.random()
        np.random.seed(seed)
        assert draw_crop_box(*shape) == tuple(int(v) for v in expected)
        assert np.random.random() == after_reference  # the same number of draws


def crop_statistics(draw, count=4000, shape=(300, 400)) -> np.ndarray:
    """Area fraction and log aspect ratio of ``count`` boxes, as two 10-bin frequency histograms."""
    boxes = np.array([draw(shape) for _ in range(count)], dtype=float)
    area = boxes[:, 2] * boxes[:, 3] / (shape[0] * shape[1])
    log_ratio = np.log(boxes[:, 3] / boxes[:, 2])
    return np.concatenate([np.histogram(area, 10, (0.4, 1.0))[0],
                           np.histogram(log_ratio, 10, (math.log(0.7), math.log(1.43)))[0]]) / count


def test_crop_area_and_aspect_histograms_match_independent_draws(reference_crop):
    """Different seeds for the two crops: their histograms agree within sampling noise, and a crop
    drawing areas from 0.5-1 instead of 0.6-1 (the negative control) is far outside it."""
    np.random.seed(1)
    reference = crop_statistics(lambda shape: reference_crop.rand_crop_params(np.zeros((*shape, 3), np.uint8)))
    np.random.seed(2)
    fast = crop_statistics(lambda shape: draw_crop_box(*shape))
    np.random.seed(3)
    wrong = crop_statistics(lambda shape: draw_crop_box(*shape, crop_ratio_range=(0.5, 1.0)))
    # A 10 % bin of 4000 draws has a standard deviation of 0.005 in frequency: 0.03 is 4 sigma of the difference.
    assert np.abs(fast - reference).max() < 0.03
    assert np.abs(wrong - reference).max() > 0.05


@pytest.mark.parametrize('seed', range(4))
def test_crop_pixels_match_pils_resize_within_rounding(reference_crop, seed):
    img = photo(*SHAPES[seed], seed=seed)
    np.random.seed(seed)
    expected = reference_crop(dict(img=img.copy()))['img'].astype(int)
    np.random.seed(seed)
    ours = FastRandomResizedCrop(224)(dict(img=img.copy()))
    assert ours['img'].shape == (224, 224, 3) and ours['img'].dtype == np.uint8 and ours['img_shape'] == (224, 224)
    difference = np.abs(ours['img'].astype(int) - expected)
    # PIL and torch round the filtered value differently: off by one level at most, on a minority of pixels.
    assert difference.max() <= 1 and difference.mean() < 0.4


def test_crop_refuses_bad_arguments():
    with pytest.raises(ValueError, match='crop_ratio_range'):
        FastRandomResizedCrop(224, crop_ratio_range=(1.0, 0.6))
    with pytest.raises(ValueError, match='scale'):
        FastRandomResizedCrop(0)


# ------------------------------------------------------------------------------------------ AutoAugment

@pytest.fixture(scope='module')
def images() -> list:
    return [photo(96, 128, seed) for seed in range(5)]


def test_whole_policy_gives_the_same_pixels_and_draws_seed_for_seed(images):
    reference, fast = AutoAugmentRGB(), FastAutoAugment()
    for seed in range(250):
        img = images[seed % len(images)]
        np.random.seed(seed)
        expected = reference(dict(img=img.copy()))['img']
        after_reference = np.random.random()
        np.random.seed(seed)
        np.testing.assert_array_equal(fast(dict(img=img.copy()))['img'], expected, err_msg=f'seed {seed}')
        assert np.random.random() == after_reference


OP_CASES = [dict(type='Posterize', bits=4), dict(type='Solarize', thr=256 / 9 * 4), dict(type='Invert'),
            dict(type='AutoContrast'), dict(type='Equalize'), dict(type='Sharpness', magnitude=0.7),
            dict(type='ColorTransform', magnitude=0.8), dict(type='Contrast', magnitude=0.8),
            dict(type='Rotate', angle=30.), dict(type='Shear', magnitude=0.3, direction='horizontal'),
            dict(type='Shear', magnitude=0.3, direction='vertical')]


@pytest.mark.parametrize('op_cfg', OP_CASES, ids=[f"{cfg['type']}{i}" for i, cfg in enumerate(OP_CASES)])
@pytest.mark.parametrize('negative', [0.0, 1.0])
def test_each_operation_gives_mmpretrains_pixels(images, op_cfg, negative):
    """Every operation, both signs, on a photo-like image and on a flat one (the degenerate tables)."""
    cfg = dict(op_cfg, prob=1.0)
    if 'magnitude' in cfg or 'angle' in cfg:
        cfg['random_negative_prob'] = negative
    policy = [[cfg]]
    for img in (images[0], np.full((20, 30, 3), 77, np.uint8)):
        expected = AutoAugmentRGB(policies=policy)(dict(img=img.copy()))['img']
        np.testing.assert_array_equal(FastAutoAugment(policies=policy)(dict(img=img.copy()))['img'], expected)


def test_imagenet_operations_fire_at_the_tables_rates(images, monkeypatch):
    """How often each operation fires over 3000 images: the table's rate (one sub-policy in 25, times the
    operation's prob) within 4 sigma; a table with one prob changed (the negative control) is caught."""
    fired = {}

    def counting(name, run):
        def wrapped(op, img):
            fired[name] = fired.get(name, 0) + 1
            return run(op, img)
        return wrapped

    monkeypatch.setattr('zerovl.datasets.transforms.fast_auto_augment.OPERATIONS',
                        {name: counting(name, run) for name, run in OPERATIONS.items()})
    fast = FastAutoAugment()
    expected = {}
    for sub_policy in fast.sub_policies:
        for op in sub_policy:
            expected[type(op).__name__] = expected.get(type(op).__name__, 0) + op.prob / len(fast.sub_policies)
    img = images[0][:16, :16]
    np.random.seed(0)
    count = 3000
    for _ in range(count):
        fast(dict(img=img.copy()))

    def within(rates):
        return all(abs(fired.get(name, 0) / count - rate) <= 4 * math.sqrt(rate / count) for name, rate in rates.items())

    assert within(expected)
    assert not within(dict(expected, Equalize=expected['Equalize'] + 0.1))


def test_unsupported_operations_are_named():
    with pytest.raises(ValueError, match=r"no uint8 version of \['Translate'\]"):
        FastAutoAugment(policies=[[dict(type='Translate', magnitude=0.2, prob=1.0)]])


# ------------------------------------------------------------------------------------------ the pipelines

def pipeline(name: str, vocab: str) -> Compose:
    steps = Config.fromfile(str(CONFIG))[name]
    for step in steps:
        if 'tokenizer' in step:
            step['tokenizer'] = vocab
    return Compose(steps)


def test_train_pipeline_is_the_reference_with_fast_steps(tmp_path, vocab_file, zerovl_scope):
    """Same seed, same sample: the same tokens and the same draws; images equal up to the resize's
    rounding, which an operation such as Posterize or Equalize can turn into a few larger steps."""
    cfg = Config.fromfile(str(CONFIG))
    swapped = {'FastRandomResizedCrop': 'mmpretrain.RandomResizedCrop', 'FastAutoAugment': 'AutoAugmentRGB'}
    assert [swapped.get(step['type'], step['type']) for step in cfg.train_pipeline] == [
        step['type'] for step in cfg.reference_train_pipeline]
    fast, reference = pipeline('train_pipeline', vocab_file), pipeline('reference_train_pipeline', vocab_file)
    mean_differences = []
    for seed in range(12):
        path = tmp_path / f'{seed}.png'
        cv2.imwrite(str(path), photo(180 + 10 * seed, 240, seed))
        sample = dict(img_path=str(path), caption='a cat sat on the mat with a dog')
        np.random.seed(seed)
        expected = reference(dict(sample))['inputs']
        after_reference = np.random.random()
        np.random.seed(seed)
        ours = fast(dict(sample))['inputs']
        assert np.random.random() == after_reference
        assert torch.equal(ours['input_ids'], expected['input_ids'])
        mean_differences.append((ours['images'].int() - expected['images'].int()).abs().float().mean().item())
    assert np.median(mean_differences) < 0.5 and max(mean_differences) < 4
