"""Convert one split of a source in ZeroVL's layout (CSV + image folder) into LMDB shards, or verify them.

    # data/cc3m/train_anno.csv + data/cc3m/train/  ->  data/cc3m/train.lmdb/shard-*/
    python tools/dataset_converters/csv_to_lmdb.py data cc3m --split train --max-rows-per-shard 1000000 --max-side 512
    python tools/dataset_converters/csv_to_lmdb.py data cc3m --split train --verify-only

Rerunning the same command resumes an interrupted conversion and skips finished shards. Image files
are read as the loader reads them: regular files only, at most --max-bytes, inside the image folder
(or an --allow-root); refused and missing files are listed and not stored. With --verify (or
--verify-only) every row is checked and every image decoded as the dataset and loader would, and
every row they would not serve is listed with its reason; the exit status is 1 when there is one, or
when no row is usable at all.
Then train from it with ``source='lmdb'`` in the dataset config (docs/data_preparation.md).
"""
import argparse
import os.path as osp
import sys
import time
from pathlib import Path

# Run from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from zerovl.datasets.image_file import DEFAULT_MAX_BYTES  # noqa: E402
from zerovl.datasets.converters.lmdb_convert import convert_csv_to_lmdb  # noqa: E402
from zerovl.datasets.converters.lmdb_verify import verify_lmdb  # noqa: E402
from zerovl.datasets.converters.split_arguments import add_split_arguments, split_paths  # noqa: E402
from zerovl.datasets.transforms.loading import DEFAULT_MAX_ASPECT_RATIO, DEFAULT_MAX_PIXELS  # noqa: E402

MAX_PRINTED_BAD = 50


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_split_arguments(parser)
    parser.add_argument('--out', help='LMDB folder (default: {data_root}/{name}/{split}.lmdb)')
    parser.add_argument('--max-rows-per-shard', type=int, default=None,
                        help='CSV rows per shard (default: all rows in one shard)')
    parser.add_argument('--max-side', type=int, default=None,
                        help='re-encode images whose longer side exceeds this as JPEG (quality 95), '
                             'aspect ratio kept; smaller images are stored as they are')
    parser.add_argument('--verify', action='store_true', help='after converting, decode every image')
    parser.add_argument('--verify-only', action='store_true', help='only verify an existing LMDB')
    parser.add_argument('--max-pixels', type=int, default=DEFAULT_MAX_PIXELS,
                        help='larger images (size read from the header) are never decoded to be shrunk by '
                             '--max-side, and are reported as bad by verification (the loader default)')
    parser.add_argument('--max-bytes', type=int, default=DEFAULT_MAX_BYTES,
                        help='larger image files are refused, not stored (the loader default)')
    parser.add_argument('--allow-root', action='append', default=[], metavar='DIR',
                        help='a folder outside the image folder that image paths may resolve into '
                             '(repeatable; for image folders of symbolic links)')
    parser.add_argument('--max-aspect-ratio', type=float, default=DEFAULT_MAX_ASPECT_RATIO,
                        help='verification: more elongated images are reported as bad (the loader default)')
    parser.add_argument('--no-progress', action='store_true', help='no progress bars')
    return parser.parse_args(argv)


def convert(args, out: str) -> None:
    _, ann_file, img_dir = split_paths(args)
    start = time.perf_counter()
    summary = convert_csv_to_lmdb(ann_file, img_dir, out, max_rows_per_shard=args.max_rows_per_shard,
                                  max_side=args.max_side, max_pixels=args.max_pixels, max_bytes=args.max_bytes,
                                  allowed_roots=args.allow_root, progress=not args.no_progress)
    print(f'{summary.lmdb_path}: {summary.rows} rows in {summary.shards} shard(s) '
          f'({summary.shards_skipped} already complete) in {time.perf_counter() - start:.1f} s; '
          f'images written {summary.images_written}, already present {summary.images_present}, '
          f'resized {summary.images_resized}, missing {len(summary.missing_images)}')
    for name in summary.missing_images[:MAX_PRINTED_BAD]:
        print(f'  not stored: {osp.join(img_dir, name)}: {summary.image_problems.get(name, "missing")}')
    if len(summary.missing_images) > MAX_PRINTED_BAD:
        print(f'  ... and {len(summary.missing_images) - MAX_PRINTED_BAD} more (--verify lists every row)')


def verify(args, out: str) -> int:
    report = verify_lmdb(out, max_pixels=args.max_pixels, max_aspect_ratio=args.max_aspect_ratio,
                         progress=not args.no_progress)
    print(f'{report.lmdb_path}: verified {report.rows} rows ({report.usable_rows} usable), {report.images} '
          f'images; {len(report.bad)} bad rows')
    # Every one, not the first few: this list is what a user fixes the CSV or the image folder from.
    for line, key, reason in report.bad:
        print(f'  row {line}, key {key!r}: {reason}' if key is not None else f'  row {line}: {reason}')
    if report.usable_rows == 0:
        print(f'  error: no usable row; a dataset on {report.lmdb_path} would have nothing to serve')
    return 0 if report.ok else 1


def main(argv=None) -> int:
    args = parse_args(argv)
    out = args.out or osp.join(split_paths(args).source_dir, f'{args.split}.lmdb')
    if not args.verify_only:
        convert(args, out)
    if args.verify or args.verify_only:
        return verify(args, out)
    return 0


if __name__ == '__main__':
    sys.exit(main())
