"""Write a synthetic image-caption set in img2dataset's webdataset layout (tiny JPEGs, distinct captions).

    python tools/dataset_converters/make_synthetic_shards.py data/synthetic_shards --samples 100000

Writes {out}/00000.tar (members {key}.jpg, {key}.txt, {key}.json), {out}/00000_stats.json and, when
pyarrow is installed, {out}/00000.parquet, for every --samples-per-shard samples. Rerunning the same
command skips the shards already finished; --verify then counts every tar against its stats file.
"""
import argparse
import sys
import time
from pathlib import Path

# Run from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from zerovl.datasets.converters.shards_convert import describe, verify_shards, write_synthetic_shards  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('out', help='shard folder to write')
    parser.add_argument('--samples', type=int, required=True, help='number of samples')
    parser.add_argument('--samples-per-shard', type=int, default=10000, help="img2dataset's default: 10000")
    parser.add_argument('--image-size', type=int, default=8, help='side of the square JPEGs in pixels')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--verify', action='store_true', help='count every tar against its stats file')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    summary = write_synthetic_shards(args.out, args.samples, args.samples_per_shard, args.image_size, args.seed)
    report = verify_shards(args.out) if args.verify else None
    print('\n'.join(describe(summary, report)) + f'\n({time.perf_counter() - start:.1f} s)')
    return 0 if report is None or report.ok else 1


if __name__ == '__main__':
    sys.exit(main())
