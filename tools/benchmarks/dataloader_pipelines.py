"""The pipelines that benchmark_dataloader.py times: decode paths, and full training pipelines with captions.

Decode paths (``decode_pipeline``): the same augmentation behind three ways of reading the image.

Training pipelines (``train_pipeline``), each a whole sample from file to packed tensors:

* ``zerovl fast``: configs/_base_/datasets/zerovl_pipelines.py's ``train_pipeline``;
* ``zerovl reference``: the same file's ``reference_train_pipeline`` (mmpretrain's crop with the pillow
  backend and ``AutoAugmentRGB``), the pipeline the fast one is tested against;
* ``torchvision PIL``: the original ZeroVL image path, PIL decode + torchvision's
  RandomResizedCrop(224, scale=(0.6, 1)) + AutoAugment(IMAGENET, fill 128), no text: the reference
  of the target (issue 16: the training pipeline at >= 1.3x this, per core);
* ``torchvision PIL + text``: the same with the caption augmentation and tokenisation of the zerovl
  rows, so that image paths alone are compared too.
"""
import copy
from pathlib import Path
from typing import List, Sequence

import numpy as np
import torch
from PIL import Image

from zerovl.datasets.transforms.formatting import image_to_tensor

REPO_ROOT = Path(__file__).resolve().parents[2]
PIPELINES_CONFIG = REPO_ROOT / 'configs' / '_base_' / 'datasets' / 'zerovl_pipelines.py'
SIZE = 224
TRAIN_ROWS = ('zerovl fast', 'zerovl reference', 'torchvision PIL', 'torchvision PIL + text')
TRAIN_BASELINE = 'torchvision PIL'

# Words of everyday photo captions; the benchmark's captions are 8-16 of them, about CC3M's mean length.
WORDS = ('a an the of in on at with and near two three man woman child dog cat bird car bus street house '
         'tree trees water beach sky field grass table food plate people group standing sitting walking '
         'holding looking red blue green white black small large old young city road snow mountain river '
         'building window room wall light night day front view close up background stock photo').split()
SPECIAL_TOKENS = ('[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]')


def captions(rng: np.random.Generator, count: int) -> List[str]:
    return [' '.join(rng.choice(WORDS, size=int(rng.integers(8, 17)))) + '.' for _ in range(count)]


def write_vocab(path: str) -> str:
    """A WordPiece vocabulary of the caption words (the real BERT vocabulary is not shipped offline)."""
    Path(path).write_text('\n'.join([*SPECIAL_TOKENS, '.', ',', *sorted(set(WORDS))]) + '\n', encoding='utf-8')
    return path


class PILLoad:
    """The original ZeroVL image loading: PIL decode, converted to RGB."""

    def __call__(self, results: dict) -> dict:
        with open(results['img_path'], 'rb') as f:
            results['img'] = Image.open(f).convert('RGB')
        return results


class PILTransform:
    """A torchvision transform on the PIL image, then an (H, W, 3) uint8 array as the cv2 paths give."""

    def __init__(self, transform) -> None:
        self.transform = transform

    def __call__(self, results: dict) -> dict:
        results['img'] = np.asarray(self.transform(results['img']))
        return results


class ToTensor:
    """The end of a decode-path pipeline: the image as a tensor, the only thing its collate keeps."""

    def __call__(self, results: dict) -> torch.Tensor:
        img = results['img']
        # np.asarray of a PIL image is read-only; copy so that torch gets a writable buffer on every path.
        return torch.from_numpy(img if img.flags.writeable and img.flags.c_contiguous else img.copy())


class PackImage:
    """The end of the image-only training row: packed as PackImageTextInputs packs, without text."""

    def __call__(self, results: dict) -> dict:
        img = results['img']
        return dict(inputs=dict(images=image_to_tensor(img if img.flags.writeable else img.copy())), data_samples={})


def decode_pipeline(path: str, augment: bool, baseline: str) -> list:
    """Decode + (RandomResizedCrop + flip, or resize 224) for one decode path."""
    if path == baseline:
        from torchvision import transforms as T  # the original code's transforms
        ops = (T.Compose([T.RandomResizedCrop(SIZE, scale=(0.6, 1.0)), T.RandomHorizontalFlip()]) if augment
               else T.Resize((SIZE, SIZE)))
        return [PILLoad(), PILTransform(ops), ToTensor()]
    if augment:
        ops = [dict(type='mmpretrain.RandomResizedCrop', scale=SIZE, crop_ratio_range=(0.6, 1.0),
                    interpolation='bilinear', backend='cv2'),
               dict(type='mmpretrain.RandomFlip', prob=0.5, direction='horizontal')]
    else:
        ops = [dict(type='ResizeImage', size=SIZE, interpolation='bilinear', backend='cv2')]
    return [dict(type='LoadImageFromFile'), *ops, ToTensor()]


def with_tokenizer(steps: Sequence[dict], tokenizer: str) -> list:
    steps = copy.deepcopy(list(steps))
    for step in steps:
        if 'tokenizer' in step:
            step['tokenizer'] = tokenizer
    return steps


def train_pipeline(row: str, tokenizer: str) -> list:
    """The steps of training row ``row`` (one of TRAIN_ROWS), captions tokenised by ``tokenizer``."""
    from mmengine.config import Config
    cfg = Config.fromfile(str(PIPELINES_CONFIG))
    if row == 'zerovl fast':
        return with_tokenizer(cfg.train_pipeline, tokenizer)
    if row == 'zerovl reference':
        return with_tokenizer(cfg.reference_train_pipeline, tokenizer)
    from torchvision import transforms as T
    image_ops = [PILLoad(), PILTransform(T.Compose([
        T.RandomResizedCrop(SIZE, scale=(0.6, 1.0)),
        T.AutoAugment(T.AutoAugmentPolicy.IMAGENET, fill=[128, 128, 128])]))]
    if row == 'torchvision PIL':
        return [*image_ops, PackImage()]
    if row == 'torchvision PIL + text':
        text_ops = [step for step in cfg.train_pipeline if step['type'] in ('CaptionAugment', 'Tokenize')]
        return [*image_ops, *with_tokenizer(text_ops, tokenizer), dict(type='PackImageTextInputs')]
    raise ValueError(f'unknown training row {row!r}, choose from {TRAIN_ROWS}')
