import numpy as np
import pytest

from zerovl.datasets.transforms import CenterCrop, ResizeImage
from zerovl.registry import TRANSFORMS


def image(height, width):
    return np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)


@pytest.mark.parametrize('backend', ['pillow', 'cv2'])
def test_resize_squashes_to_square(backend):
    results = ResizeImage(16, backend=backend)(dict(img=image(30, 50)))
    assert results['img'].shape == (16, 16, 3) and results['img'].dtype == np.uint8
    assert results['img_shape'] == (16, 16)


@pytest.mark.parametrize('shape,expected', [((30, 50), (16, 26)), ((50, 30), (26, 16)), ((20, 20), (16, 16))])
def test_resize_keep_ratio_sets_the_shorter_side(shape, expected):
    assert ResizeImage(16, keep_ratio=True)(dict(img=image(*shape)))['img'].shape[:2] == expected


def test_resize_rejects_unknown_interpolation():
    with pytest.raises(ValueError, match='area'):
        ResizeImage(16, interpolation='area', backend='pillow')
    ResizeImage(16, interpolation='area', backend='cv2')


def test_center_crop_takes_the_middle():
    img = image(7, 9)
    results = CenterCrop(4)(dict(img=img))
    # torchvision rounds the offsets: top = round(1.5) = 2, left = round(2.5) = 2 (banker's rounding)
    np.testing.assert_array_equal(results['img'], img[2:6, 2:6])
    assert results['img_shape'] == (4, 4)


def test_center_crop_of_a_too_small_image_is_an_error():
    with pytest.raises(ValueError, match=r'only 3x9'):
        CenterCrop(4)(dict(img=image(3, 9), img_path='/x.jpg'))


def test_eval_pipeline_gives_224():
    results = dict(img=image(300, 500))
    for transform in (ResizeImage(256), CenterCrop(224)):
        results = transform(results)
    assert results['img'].shape == (224, 224, 3)


def test_mmpretrain_random_resized_crop_builds_and_uses_numpy_global_rng():
    crop = TRANSFORMS.build(dict(type='mmpretrain.RandomResizedCrop', scale=24, crop_ratio_range=(0.6, 1.0)))
    outputs = []
    for _ in range(2):
        np.random.seed(3)
        outputs.append(crop(dict(img=image(40, 60)))['img'])
    assert outputs[0].shape == (24, 24, 3) and outputs[0].dtype == np.uint8
    np.testing.assert_array_equal(outputs[0], outputs[1])


@pytest.mark.parametrize('shape', [(30, 50), (50, 31), (7, 9)])
def test_matches_the_original_torchvision_eval_transform(shape):
    # The original ZeroVL evaluated with torchvision Resize((256, 256)) + CenterCrop(224) on PIL images.
    from PIL import Image
    from torchvision import transforms as T

    img = image(*shape)
    expected = T.Compose([T.Resize((16, 16), interpolation=T.InterpolationMode.BICUBIC),
                          T.CenterCrop(12)])(Image.fromarray(img))
    results = CenterCrop(12)(ResizeImage(16)(dict(img=img)))
    np.testing.assert_array_equal(results['img'], np.asarray(expected))
    keep_ratio = T.Resize(16, interpolation=T.InterpolationMode.BICUBIC)(Image.fromarray(img))
    assert ResizeImage(16, keep_ratio=True)(dict(img=img))['img'].shape[:2] == keep_ratio.size[::-1]
