"""Convert npm's emoji-datasource-google (emoji.json + 64 px Google PNGs) into ZeroVL annotation CSVs.

    npm install --prefix data/npm emoji-datasource-google@16.0.0      # or: make real-assets
    # data/emoji/{train,valid}_anno.csv and data/emoji/{train,valid}/*.png (RGB, composited on white)
    python tools/dataset_converters/emoji_to_csv.py data/npm/node_modules/emoji-datasource-google data

Captions are the emoji's Unicode name plus its wordy short names, each owned by one image; 15 % of the
images (seeded) are held out. The rules are in zerovl/datasets/converters/emoji.py and docs/real_demo.md.
"""
import argparse
import sys
import time
from pathlib import Path

# Run from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from zerovl.datasets.converters.emoji import DEFAULT_PACKAGE_DIR, EmojiFormatError, convert_emoji_dataset  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('package_dir', nargs='?', default=DEFAULT_PACKAGE_DIR,
                        help=f'the npm package folder (default: {DEFAULT_PACKAGE_DIR})')
    parser.add_argument('out_root', nargs='?', default='data', help='data root: the set goes to {out_root}/{name}/')
    parser.add_argument('--name', default='emoji', help='source sub-folder (default: emoji)')
    parser.add_argument('--valid-fraction', type=float, default=0.15, help='share of images held out')
    parser.add_argument('--seed', type=int, default=0, help='seed of the held-out split')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    try:
        summary = convert_emoji_dataset(args.package_dir, args.out_root, args.name,
                                        valid_fraction=args.valid_fraction, seed=args.seed)
    except (FileNotFoundError, EmojiFormatError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    print(f'{summary["root"]}: {summary["records"]} emoji records converted in {time.perf_counter() - start:.1f} s')
    for split, info in summary['splits'].items():
        print(f'  {split}: {info["images"]} images, {info["captions"]} captions -> {info["anno"]}')
    if summary['dropped_images']:
        print(f'  dropped (every caption shared with another image): {", ".join(summary["dropped_images"])}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
