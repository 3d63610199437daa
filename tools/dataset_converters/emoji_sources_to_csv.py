"""Convert several emoji art sets (npm) into one multi-source image-caption set, each source captioned from
its own package's metadata, with a concept-disjoint held-out split shared by all sources.

    make real-multisource          # installs the packages (npm) and rsvg-convert (Debian), then runs:
    python tools/dataset_converters/emoji_sources_to_csv.py --npm-prefix data/npm --out-root data
    # data/emoji_sources/{google,twitter,openmoji}/{train,valid}_anno.csv, images, {split}_groups.txt
    # data/emoji_sources_scarce/...: the same held-out sets, 20 % of the training concepts (--train-fraction)

Sources, caption styles and the split are described in zerovl/datasets/converters/emoji_sources.py.
"""
import argparse
import os.path as osp
import sys
import time
from pathlib import Path

# Run from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from zerovl.datasets.converters.emoji import EmojiFormatError  # noqa: E402
from zerovl.datasets.converters.emoji_sources import DEFAULT_SOURCES, SOURCES, convert_emoji_sources  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--npm-prefix', default='data/npm', help='npm --prefix the packages were installed under')
    parser.add_argument('--out-root', default='data', help='data root: the set goes to {out_root}/{name}/')
    parser.add_argument('--name', default='emoji_sources', help='set sub-folder (default: emoji_sources)')
    parser.add_argument('--sources', nargs='+', default=list(DEFAULT_SOURCES), choices=list(SOURCES))
    parser.add_argument('--valid-fraction', type=float, default=0.15, help='share of concepts held out')
    parser.add_argument('--train-fraction', type=float, default=1.0,
                        help='share of the other concepts kept for training (a data-scarce copy below 1)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the concept hash')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    packages = {source: osp.join(args.npm_prefix, 'node_modules', SOURCES[source]['package'])
                for source in args.sources}
    start = time.perf_counter()
    try:
        summary = convert_emoji_sources(packages, args.out_root, args.name, valid_fraction=args.valid_fraction,
                                        seed=args.seed, train_fraction=args.train_fraction, log=print)
    except (FileNotFoundError, EmojiFormatError, ValueError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    print(f'{summary["root"]}: {len(packages)} sources converted in {time.perf_counter() - start:.1f} s')
    for source, info in summary['sources'].items():
        if info['dropped_images']:
            print(f'  {source}: dropped (every caption shared with another image): {", ".join(info["dropped_images"])}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
