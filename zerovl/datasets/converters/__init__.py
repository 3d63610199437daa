"""Offline converters into zerovl's layouts: emoji packages (one source, or several art sets as a
multi-source set, and its look-alike control) and Karpathy JSON to CSV, CSV to LMDB (and its verification),
CSV, LMDB or synthetic data to img2dataset shards. Nothing here runs during training; tools/dataset_converters/
wraps each in a command."""
from .emoji import convert_emoji_dataset
from .emoji_sources import convert_emoji_sources
from .karpathy import convert_karpathy
from .lmdb_convert import convert_csv_to_lmdb
from .lmdb_verify import verify_lmdb
from .pooled_sources import pool_sources
from .shards_convert import (convert_csv_to_shards, convert_lmdb_to_shards, verify_shards,
                             write_synthetic_shards)

__all__ = ['convert_emoji_dataset', 'convert_emoji_sources', 'convert_karpathy', 'convert_csv_to_lmdb', 'verify_lmdb',
           'pool_sources', 'convert_csv_to_shards', 'convert_lmdb_to_shards', 'verify_shards',
           'write_synthetic_shards']
