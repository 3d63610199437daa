"""Export a zerovl model as an open_clip model folder that stock open_clip loads, then check that it does.

    python tools/model_converters/export_open_clip.py zerovl_demo work_dirs/demo_open_clip \\
        --checkpoint work_dirs/zerovl_demo/epoch_6.pth
    python tools/model_converters/export_open_clip.py work_dirs/zerovl_demo_export work_dirs/demo_open_clip

    # then, in any code that uses open_clip (clip_benchmark included):
    model, _, preprocess = open_clip.create_model_and_transforms('local-dir:work_dirs/demo_open_clip')
    tokenizer = open_clip.get_tokenizer('local-dir:work_dirs/demo_open_clip')

MODEL is what zerovl.create_model takes: a zerovl export folder, or a config file or name with --checkpoint.
The folder gets open_clip_config.json (a timm image tower and a Hugging Face text tower, both with linear
heads, and the image transform), open_clip_model.safetensors and the text tower's config and tokenizer.
After writing, the folder is loaded with open_clip and its embeddings are compared with ours (tokens,
preprocessed pixels of a probe picture, embeddings); a difference is an error (exit status 1).
What cannot be expressed exactly in open_clip is refused with the reason: docs/interoperability.md.
"""
import argparse
import sys
from pathlib import Path

from mmengine.config import DictAction

# Run from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from zerovl.apis.create import load_model, preprocessors  # noqa: E402
from zerovl.apis.exported import ExportError  # noqa: E402
from zerovl.apis.open_clip_export import export_open_clip  # noqa: E402
from zerovl.utils.checkpoint import UnsafeCheckpointError, add_trust_checkpoint_argument, trust_if_asked  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('model', help='a zerovl export folder, a config file or a config name (zerovl.list_models())')
    parser.add_argument('out_dir', help='the open_clip model folder to write')
    parser.add_argument('--checkpoint', help='the checkpoint of a config (.pth or .safetensors)')
    parser.add_argument('--nearest-preprocess', action='store_true',
                        help='export a resize-then-centre-crop test pipeline (ZeroVL\'s 256 -> 224) with open_clip\'s '
                             'nearest transform, a squash to the crop size; the model itself stays exact')
    parser.add_argument('--no-check', action='store_true', help='skip loading the folder back with open_clip')
    add_trust_checkpoint_argument(parser)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config keys (not for exports)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    trust_if_asked(args)
    try:
        loaded = load_model(args.model, args.checkpoint, 'cpu', args.cfg_options)
        config = export_open_clip(loaded, args.out_dir, args.nearest_preprocess,
                                  source=dict(model=str(args.model), checkpoint=args.checkpoint))
        print(f'{args.model} -> {args.out_dir} (open_clip local-dir:{args.out_dir})')
        preprocess = config['preprocess_cfg']
        print(f'  image transform: {preprocess["resize_mode"]} to {preprocess["size"]} '
              f'{preprocess["interpolation"]} ({config["zerovl"]["preprocess"]})')
        if not args.no_check:
            from zerovl.apis.open_clip_check import compare_with_open_clip
            preprocess, tokenizer = preprocessors(loaded)
            agreement = compare_with_open_clip(loaded.model, preprocess, tokenizer, args.out_dir,
                                               exact_preprocess=config['zerovl']['preprocess'] == 'exact')
            print(f'  loaded with open_clip: largest differences {agreement}')
    except (ExportError, UnsafeCheckpointError, FileNotFoundError, KeyError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
