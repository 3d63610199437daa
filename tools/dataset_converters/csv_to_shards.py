"""Convert a ZeroVL-layout split (CSV + image folder) or its LMDB copy into img2dataset webdataset shards.

    # data/cc3m/train_anno.csv + data/cc3m/train/  ->  data/cc3m/train_shards/00000.tar ...
    python tools/dataset_converters/csv_to_shards.py data cc3m --split train --verify
    # from the LMDB copy written by csv_to_lmdb.py (data/cc3m/train.lmdb)
    python tools/dataset_converters/csv_to_shards.py data cc3m --split train --from-lmdb --verify

One CSV row becomes one sample (key, .jpg image bytes as stored, .txt caption, .json with the row's
image, image_id, caption_id and line). Rows the dataset would drop and rows whose image cannot be read
are counted as failed in the shard's _stats.json and listed. Rerunning the same command skips finished
shards (a shard is finished once its stats file exists); --verify counts every tar against its stats
file and exits with 1 when one differs, is truncated or missing.
"""
import argparse
import os.path as osp
import sys
import time
from pathlib import Path

# Run from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from zerovl.datasets.converters.shards_convert import (convert_csv_to_shards, convert_lmdb_to_shards,  # noqa: E402
                                                       describe, verify_shards)
from zerovl.datasets.converters.split_arguments import add_split_arguments, split_paths  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_split_arguments(parser)
    parser.add_argument('--from-lmdb', nargs='?', const='', default=None, metavar='LMDB',
                        help='read the LMDB copy instead (default path: {data_root}/{name}/{split}.lmdb)')
    parser.add_argument('--out', help='shard folder (default: {data_root}/{name}/{split}_shards)')
    parser.add_argument('--samples-per-shard', type=int, default=10000, help="img2dataset's default: 10000")
    parser.add_argument('--verify', action='store_true', help='count every tar against its stats file')
    parser.add_argument('--verify-only', action='store_true', help='only verify an existing shard folder')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    base, ann_file, img_dir = split_paths(args)
    out = args.out or osp.join(base, f'{args.split}_shards')
    start = time.perf_counter()
    summary = None
    if not args.verify_only and args.from_lmdb is not None:
        summary = convert_lmdb_to_shards(args.from_lmdb or osp.join(base, f'{args.split}.lmdb'), out,
                                         args.samples_per_shard)
    elif not args.verify_only:
        summary = convert_csv_to_shards(ann_file, img_dir, out, args.samples_per_shard)
    report = verify_shards(out) if args.verify or args.verify_only else None
    lines = describe(summary, report) if summary is not None else describe_report(report)
    print('\n'.join(lines) + f'\n({time.perf_counter() - start:.1f} s)')
    return 0 if report is None or report.ok else 1


def describe_report(report):
    return [f'verify {report.folder}: {report.samples} samples in {report.shards} shard(s), stats declare '
            f'{report.declared}; {len(report.problems)} problem(s)'] + [f'  {p}' for p in report.problems]


if __name__ == '__main__':
    sys.exit(main())
