"""Export a trained zerovl model for inference: weights as safetensors plus what rebuilds the model.

    python tools/model_converters/export.py CONFIG CHECKPOINT OUT_DIR [--cfg-options KEY=VALUE ...]

OUT_DIR receives ``model.safetensors`` (the weights only: no optimizer state, no pickle) and
``zerovl_model.json`` (the model config without its training-only parts, the input normalisation, the
config's test pipeline and its tokenizer), with local tokenizer files and the text tower's Hugging Face
config copied alongside. ``zerovl.apis.ZeroVLInferencer.from_exported(OUT_DIR)`` and ``tools/infer.py``
load it without a Runner. The logic lives in ``zerovl/apis/export.py``.
"""
import argparse
import sys
from pathlib import Path

from mmengine.config import DictAction

# Run from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from zerovl.apis.export import export_model  # noqa: E402
from zerovl.apis.exported import ExportError  # noqa: E402
from zerovl.utils.checkpoint import UnsafeCheckpointError, add_trust_checkpoint_argument, trust_if_asked  # noqa: E402
from zerovl.utils import load_config, register_all_modules  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='the config the checkpoint was trained (or converted) with')
    parser.add_argument('checkpoint', help='a zerovl checkpoint (e.g. work_dirs/NAME/epoch_20.pth)')
    parser.add_argument('out_dir', help='the folder to write the export into')
    add_trust_checkpoint_argument(parser)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config keys')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    trust_if_asked(args)
    register_all_modules()
    try:
        cfg = load_config(args.config, args.cfg_options)
        manifest = export_model(cfg, args.checkpoint, args.out_dir)
    except (ExportError, UnsafeCheckpointError, FileNotFoundError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    norm = manifest['normalisation']
    print(f'{args.checkpoint} -> {args.out_dir}/{manifest["weights"]}')
    size = manifest['image_size'] or 'as the input'
    print(f'  model {manifest["model"]["type"]}, images {size}, normalisation mean {norm["mean"]} std {norm["std"]}')
    tokenizer = manifest['tokenizer']
    print(f'  tokenizer {tokenizer["name_or_path"]} ({"bundled" if tokenizer["bundled"] else "by name"}), '
          f'max_length {tokenizer["max_length"]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
