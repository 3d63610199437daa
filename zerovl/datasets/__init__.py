"""Datasets, transforms and collate functions; importing this package registers them."""
from . import transforms  # noqa: F401  (registers the transforms)
from .collate import image_text_collate
from .errors import BadSampleError
from .image_text import ImageTextDataset
from .samplers import DebiasedBatchSampler
from .synthetic import make_synthetic_dataset

__all__ = ['ImageTextDataset', 'BadSampleError', 'image_text_collate', 'make_synthetic_dataset',
           'DebiasedBatchSampler']
