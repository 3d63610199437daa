"""Offline converters into zerovl's layouts: emoji packages (one source, or several art sets as a
multi-source set, and its look-alike control) and Karpathy JSON to CSV, CSV to LMDB (and its verification).
Nothing here runs during training; tools/dataset_converters/ wraps each in a command."""
from .emoji import convert_emoji_dataset
from .emoji_sources import convert_emoji_sources
from .karpathy import convert_karpathy
from .lmdb_convert import convert_csv_to_lmdb
from .lmdb_verify import verify_lmdb
from .pooled_sources import pool_sources

__all__ = ['convert_emoji_dataset', 'convert_emoji_sources', 'convert_karpathy', 'convert_csv_to_lmdb', 'verify_lmdb',
           'pool_sources']
