"""Per-sample transforms of the image-text pipeline, registered in ``zerovl.registry.TRANSFORMS``.

Randomness: a random transform draws from numpy's global RNG (``np.random``), never from a private
``Generator``. mmengine seeds that RNG in the main process (``randomness=dict(seed=...)``) and in each
DataLoader worker (``worker_init_fn``: seed + rank * num_workers + worker id), which is what makes a
run repeatable; a private generator would escape that seeding. mmpretrain's ``RandomResizedCrop``
(``type='mmpretrain.RandomResizedCrop'``) follows the same rule and is used as is.
"""
from .auto_augment import AutoAugmentRGB
from .caption_augment import CaptionAugment
from .fast_auto_augment import FastAutoAugment
from .fast_crop import FastRandomResizedCrop
from .formatting import PackImageLabel, PackImageTextInputs
from .loading import LoadImageFromFile
from .processing import CenterCrop, ResizeImage
from .tokenize import Tokenize, find_tokenize

__all__ = ['LoadImageFromFile', 'ResizeImage', 'CenterCrop', 'Tokenize', 'find_tokenize',
           'PackImageTextInputs', 'PackImageLabel', 'CaptionAugment', 'AutoAugmentRGB', 'FastAutoAugment',
           'FastRandomResizedCrop']
