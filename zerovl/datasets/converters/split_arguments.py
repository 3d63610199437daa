"""The command line of converters that read one split of a source in ZeroVL's layout (CSV + image folder):
the same arguments and the same default paths in every such tool (csv_to_lmdb.py, csv_to_shards.py)."""
import argparse
import os.path as osp
from typing import NamedTuple


class SplitPaths(NamedTuple):
    source_dir: str  # {data_root}/{name}
    ann_file: str
    img_dir: str


def add_split_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('data_root', help='folder with one sub-folder per source')
    parser.add_argument('name', help='the source sub-folder, e.g. cc3m')
    parser.add_argument('--split', default='train', help="'train' or 'valid' (default: train)")
    parser.add_argument('--ann-file', help='annotation CSV (default: {data_root}/{name}/{split}_anno.csv)')
    parser.add_argument('--img-dir', help='image folder (default: {data_root}/{name}/{split})')


def split_paths(args: argparse.Namespace) -> SplitPaths:
    """The split's folder, annotation CSV and image folder, defaults filled in."""
    source_dir = osp.join(args.data_root, args.name)
    return SplitPaths(source_dir, args.ann_file or osp.join(source_dir, f'{args.split}_anno.csv'),
                      args.img_dir or osp.join(source_dir, args.split))
