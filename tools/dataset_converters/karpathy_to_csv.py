"""Convert a Karpathy split JSON into ZeroVL annotation CSVs (train/val/test/valid_anno.csv).

    # data/coco/{train,val,test,valid}_anno.csv, image folders linked to /datasets/coco
    python tools/dataset_converters/karpathy_to_csv.py dataset_coco.json /datasets/coco data coco --link-images
    python tools/dataset_converters/karpathy_to_csv.py dataset_flickr30k.json /datasets/flickr30k/images data flickr30k

train = Karpathy train + restval; valid = test (the split evaluation reads). The ``image`` column is
``filepath/filename`` relative to IMAGE_ROOT, so every {split}/ image folder is IMAGE_ROOT itself:
--link-images makes them symlinks to it, otherwise the script prints the folders to provide.
"""
import argparse
import os.path as osp
import sys
from pathlib import Path

# Run from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from zerovl.datasets.converters.karpathy import KarpathyFormatError, convert_karpathy  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('json_path', help='dataset_coco.json or dataset_flickr30k.json')
    parser.add_argument('image_root', help='folder the JSON filepath/filename entries are relative to')
    parser.add_argument('out_root', help='data root: the CSVs go to {out_root}/{name}/')
    parser.add_argument('name', help='source sub-folder, e.g. coco or flickr30k')
    parser.add_argument('--link-images', action='store_true',
                        help='create {out_root}/{name}/{split} as symlinks to IMAGE_ROOT')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        counts = convert_karpathy(args.json_path, args.image_root, args.out_root, args.name,
                                  link_images=args.link_images)
    except (KarpathyFormatError, FileExistsError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    dataset_dir = osp.join(args.out_root, args.name)
    for split, (images, captions) in counts.items():
        print(f'{osp.join(dataset_dir, split + "_anno.csv")}: {images} images, {captions} captions')
    if not args.link_images:
        folders = ', '.join(osp.join(dataset_dir, split) for split in counts)
        print(f'image folders not created: provide {folders} (each holding the contents of '
              f'{args.image_root}), or rerun with --link-images')
    return 0


if __name__ == '__main__':
    sys.exit(main())
