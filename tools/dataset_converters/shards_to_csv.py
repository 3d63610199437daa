"""Convert img2dataset webdataset shards into ZeroVL's CSV + image-folder layout, e.g. to evaluate retrieval
on a held-out shard set (the evaluation reads that layout; one caption per image, image_id = the key).

    # data/myval_shards/00000.tar ...  ->  data/myval/valid_anno.csv + data/myval/valid/{key}.jpg
    python tools/dataset_converters/shards_to_csv.py data/myval_shards data myval --split valid

Samples without image or caption, and truncated or missing shards, are left out and listed; the exit
status is 1 when any was.
"""
import argparse
import sys
from pathlib import Path

# Run from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from zerovl.datasets.converters.shards_convert import convert_shards_to_csv  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('shards', help='the shard folder (*.tar and *_stats.json)')
    parser.add_argument('data_root', help='folder with one sub-folder per source')
    parser.add_argument('name', help='the source sub-folder to write')
    parser.add_argument('--split', default='valid', help="'train' or 'valid' (default: valid)")
    parser.add_argument('--caption-key', help="read the caption from this key of {key}.json instead of {key}.txt")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    rows, skipped = convert_shards_to_csv(args.shards, args.data_root, args.name, args.split, args.caption_key)
    print(f'{rows} rows written to {args.data_root}/{args.name}/{args.split}_anno.csv; {len(skipped)} left out')
    for reason in skipped:
        print(f'  left out: {reason}')
    return 1 if skipped else 0


if __name__ == '__main__':
    sys.exit(main())
