"""Offline converters into zerovl's layouts: emoji packages and Karpathy JSON to CSV, CSV to LMDB (and
its verification). Nothing here runs during training; tools/dataset_converters/ wraps each in a command."""
from .emoji import convert_emoji_dataset
from .karpathy import convert_karpathy
from .lmdb_convert import convert_csv_to_lmdb
from .lmdb_verify import verify_lmdb

__all__ = ['convert_emoji_dataset', 'convert_karpathy', 'convert_csv_to_lmdb', 'verify_lmdb']
