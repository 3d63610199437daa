"""Datasets, transforms and collate functions; importing this package registers them."""
from . import transforms  # noqa: F401  (registers the transforms)
from .collate import image_text_collate
from .errors import BadSampleError, TooManyBadSamplesError
from .fashion_mnist import FashionMNIST
from .image_folder import ImageFolderDataset
from .image_text import ImageTextDataset
from .converters import convert_csv_to_lmdb, verify_lmdb
from .samplers import DebiasedBatchSampler
from .shards.dataset import ShardImageTextDataset, shard_batch_collate
from .synthetic import make_synthetic_dataset
from .synthetic_concepts import SyntheticConceptDataset

__all__ = ['ImageTextDataset', 'BadSampleError', 'TooManyBadSamplesError', 'image_text_collate',
           'make_synthetic_dataset', 'DebiasedBatchSampler', 'convert_csv_to_lmdb', 'verify_lmdb',
           'ImageFolderDataset', 'FashionMNIST', 'SyntheticConceptDataset', 'ShardImageTextDataset',
           'shard_batch_collate']
