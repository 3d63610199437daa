"""Turn a folder of images with captions into a dataset zerovl trains on (docs/custom_data.md).

Captions come from a .txt file next to each image (cat.jpg + cat.txt, one caption per line) or from one
CSV with columns image,caption (--captions). A seeded tenth of the images (--val-fraction) is held out
for validation and the retrieval report. Writes OUT_ROOT/NAME/{train,valid}_anno.csv, and OUT_ROOT/NAME/
{train,valid} as links to IMAGE_DIR (no image is copied), which configs/_base_/datasets/custom_csv.py reads.
"""
import argparse
import sys
from pathlib import Path

# Run from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from zerovl.datasets.converters.caption_folder import CaptionFolderError, convert_caption_folder  # noqa: E402

EXAMPLES = """examples:
  # my_photos/a.jpg + my_photos/a.txt, ... -> data/custom/custom/{train,valid}_anno.csv
  python tools/dataset_converters/folder_to_csv.py my_photos data/custom
  # captions in one CSV (columns image,caption), a fifth held out, another source name
  python tools/dataset_converters/folder_to_csv.py my_photos data/custom --captions captions.csv \\
      --val-fraction 0.2 --name photos
  # then: python tools/train.py configs/zerovl/zerovl_custom_csv.py \\
  #           --cfg-options custom_data.data_root=data/custom custom_data.names=[photos]
"""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, epilog=EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('image_dir', help='folder of images (searched recursively)')
    parser.add_argument('out_root', help='data root: the CSVs go to OUT_ROOT/NAME/')
    parser.add_argument('--name', default='custom', help='source name, the sub-folder of OUT_ROOT (default: custom)')
    parser.add_argument('--captions', help='CSV with columns image,caption instead of .txt files next to the images')
    parser.add_argument('--val-fraction', type=float, default=0.1,
                        help='share of the images held out for validation and test (default: 0.1)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the held-out draw (default: 0)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        summary = convert_caption_folder(args.image_dir, args.out_root, args.name, args.captions,
                                         args.val_fraction, args.seed)
    except (CaptionFolderError, FileExistsError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    for split, ann_file in zip(('train', 'valid'), summary['files']):
        print(f'wrote {ann_file}: {summary[split]["images"]} images, {summary[split]["captions"]} captions')
    if summary['uncaptioned']:
        print(f'skipped {summary["uncaptioned"]} image(s) without a caption')
    print(f'train on it: --cfg-options custom_data.data_root={args.out_root} custom_data.names=[{args.name}]')
    return 0


if __name__ == '__main__':
    sys.exit(main())
