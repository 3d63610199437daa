"""Generate (or reuse) the two-domain synthetic image-caption set.

    python tools/dataset_converters/make_synthetic.py data/synthetic --train-a 3200 --train-b 1000 --seed 0
"""
import argparse
import sys
import time
from pathlib import Path

# Run from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from zerovl.datasets.synthetic import make_synthetic_dataset  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('out_dir', help='root folder; gets synth_a/, synth_b/, vocab.txt and README.txt')
    parser.add_argument('--train-a', type=int, default=3200, help='training pairs of domain synth_a')
    parser.add_argument('--train-b', type=int, default=1000, help='training pairs of domain synth_b')
    parser.add_argument('--valid-images', type=int, default=200, help='held-out images per domain')
    parser.add_argument('--captions-per-image', type=int, default=5, help='distinct captions per held-out image')
    parser.add_argument('--image-size', type=int, default=64, help='side of the square RGB images in pixels')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--look-alike', action='store_true',
                        help='control set: render and caption synth_b in synth_a\'s style (no domain signature)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    start = time.perf_counter()
    summary = make_synthetic_dataset(
        args.out_dir, train_a=args.train_a, train_b=args.train_b, valid_images=args.valid_images,
        captions_per_image=args.captions_per_image, image_size=args.image_size, seed=args.seed,
        look_alike=args.look_alike)
    elapsed = time.perf_counter() - start
    action = 'generated' if summary['regenerated'] else 'up to date, reused'
    print(f'{summary["root"]}: {action} in {elapsed:.1f} s')
    for domain, splits in summary['domains'].items():
        for split, info in splits.items():
            print(f'  {domain}/{split}: {info["images"]} images, {info["captions"]} captions -> {info["anno"]}')
    print(f'  vocab: {summary["vocab"]}')
    print(f'  readme: {summary["readme"]}')


if __name__ == '__main__':
    main()
