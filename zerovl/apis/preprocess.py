"""A model's test-time input preparation as two callables, as ``open_clip.create_model_and_transforms`` hands
them out: images (file paths, (H, W, 3) uint8 RGB arrays or PIL images) through the config's test pipeline,
and texts through its ``Tokenize`` step.

    preprocess = ImagePreprocess(test_pipeline, model.data_preprocessor)
    tokenizer = TextTokenizer(find_tokenize(transforms))
    model.encode_image(torch.stack([preprocess(image) for image in images]))
    model.encode_text(**tokenizer(['a red circle', 'a blue square']))

Both prepare exactly what ``tools/test.py`` feeds the model (tests/test_apis/test_create_model.py).
"""
import os
import os.path as osp
from typing import TYPE_CHECKING, Sequence, Union

import numpy as np
import torch

if TYPE_CHECKING:
    import PIL.Image

ImageInput = Union[str, os.PathLike, np.ndarray, 'PIL.Image.Image']


def build_transforms(test_pipeline: Sequence[dict]) -> list:
    import zerovl.datasets  # noqa: F401  registers the transforms
    from zerovl.registry import TRANSFORMS
    return [TRANSFORMS.build(dict(step)) for step in test_pipeline]


def run_pipeline(results: dict, transforms) -> dict:
    for transform in transforms:
        results = transform(results)
        if results is None:  # mmcv's convention for a sample a transform dropped
            raise ValueError(f'{type(transform).__name__} dropped the image')
    return results


def as_rgb_array(image) -> np.ndarray:
    """A PIL image (any mode) as (H, W, 3) uint8 RGB, the array ``LoadImageFromFile`` decodes."""
    return np.asarray(image.convert('RGB'), dtype=np.uint8)


def is_pil_image(image) -> bool:
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow is a dependency of mmcv
        return False
    return isinstance(image, Image.Image)


def prepare_image(image: ImageInput, transforms: list) -> torch.Tensor:
    """(3, H, W) uint8, as the test pipeline makes it. The first transform loads the file; an array or a
    PIL image skips it. The caption is empty: Tokenize needs one."""
    if isinstance(image, (str, os.PathLike)):
        path = os.fspath(image)
        if not osp.isfile(path):
            raise FileNotFoundError(f'image {path} does not exist')
        results = run_pipeline(dict(img_path=path, caption=''), transforms)
        return results['inputs']['images']
    if is_pil_image(image):
        image = as_rgb_array(image)
    if not isinstance(image, np.ndarray):
        raise TypeError(f'an image is a file path, a PIL image or an (H, W, 3) uint8 array, '
                        f'got {type(image).__name__}')
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f'an image array must be (H, W, 3) uint8 RGB, got shape {image.shape} dtype {image.dtype}')
    results = dict(img=image, img_shape=image.shape[:2], ori_shape=image.shape[:2], caption='')
    return run_pipeline(results, transforms[1:])['inputs']['images']


class ImagePreprocess:
    """``preprocess(image) -> (3, H, W)`` float tensor, normalised as the model's data preprocessor does:
    what ``model.encode_image`` takes, one image at a time (stack them for a batch)."""

    def __init__(self, test_pipeline: Sequence[dict], data_preprocessor: torch.nn.Module):
        self.transforms = build_transforms(test_pipeline)
        self.data_preprocessor = data_preprocessor

    def uint8(self, image: ImageInput) -> torch.Tensor:
        return prepare_image(image, self.transforms)

    def normalise(self, batch: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) uint8 -> normalised float on the data preprocessor's device."""
        return self.data_preprocessor(dict(inputs=dict(images=batch)), False)['inputs']['images']

    def __call__(self, image: ImageInput) -> torch.Tensor:
        return self.normalise(self.uint8(image)[None])[0]


class TextTokenizer:
    """``tokenizer(texts) -> dict(input_ids, attention_mask)``, (N, max_length) int64 tensors, tokenised as
    the test captions are; ``model.encode_text(**tokenizer(texts))``."""

    def __init__(self, tokenize):
        self.tokenizer = tokenize.tokenizer
        self.max_length = tokenize.max_length

    def __call__(self, texts: Union[str, Sequence[str]]) -> dict:
        texts = [texts] if isinstance(texts, str) else list(texts)
        if not texts or not all(isinstance(text, str) for text in texts):
            raise ValueError('tokenizer: give a string or a non-empty list of strings')
        encoded = self.tokenizer(texts, padding='max_length', truncation=True, max_length=self.max_length,
                                 return_attention_mask=True, return_tensors='pt')
        return dict(input_ids=encoded['input_ids'], attention_mask=encoded['attention_mask'])
