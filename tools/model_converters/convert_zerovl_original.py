"""Convert a checkpoint of the original ZeroVL code into a zerovl checkpoint for ``load_from``.

    python tools/model_converters/convert_zerovl_original.py zerovl_14m.pth work_dirs/zerovl_14m_converted.pth \\
        --variant 14m [--config configs/zerovl/zerovl_14m.py] [--snippet converted_config.py]
    python tools/model_converters/convert_zerovl_original.py SRC OUT --mean 0.5 0.5 0.5 --std 0.5 0.5 0.5

The released models expect different input normalisation (14m: ImageNet mean/std, 100m: 0.5/0.5), so one
of ``--variant`` or ``--mean``/``--std`` (on the 0-1 scale of the original YAML) is required. It is stored in
the output's meta and in a config snippet (the pre-logits layer of old in21k ViTs, the temperature and the
data preprocessor) to merge into the model config. With ``--config`` the converted weights are also checked
against that config's model, key by key and shape by shape. The key mapping lives in
``zerovl/models/converters``; this script only wires it to the command line.
"""
import argparse
import os.path as osp
import sys
from pathlib import Path

# Run from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from zerovl.utils.checkpoint import (UnsafeCheckpointError, add_trust_checkpoint_argument,  # noqa: E402
                                      load_from_local, trust_if_asked)
from zerovl.models.converters import (NORMALISATIONS, OriginalCheckpointError, check_against_model,  # noqa: E402
                                      config_snippet, conversion_meta, convert_state_dict, extract_state_dict,
                                      model_overrides, normalisation, save_checkpoint, save_snippet)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help='checkpoint written by the original ZeroVL code')
    parser.add_argument('out', help='zerovl checkpoint to write (.pth)')
    parser.add_argument('--variant', choices=sorted(NORMALISATIONS),
                        help='released model: 14m (ImageNet mean/std) or 100m (mean = std = 0.5)')
    parser.add_argument('--mean', type=float, nargs=3, help='input mean on the 0-1 scale, instead of --variant')
    parser.add_argument('--std', type=float, nargs=3, help='input std on the 0-1 scale, instead of --variant')
    parser.add_argument('--temperature', type=float,
                        help='τ when the checkpoint holds none (a constant-τ run; default 0.02)')
    parser.add_argument('--config', help='check the converted weights against the model of this zerovl config')
    parser.add_argument('--snippet', help='where to write the config snippet (default: OUT without .pth + _config.py)')
    add_trust_checkpoint_argument(parser)
    args = parser.parse_args(argv)
    if args.variant is None and (args.mean is None or args.std is None):
        parser.error('state the normalisation the checkpoint expects: --variant 14m|100m, or --mean and --std')
    if args.variant is not None and (args.mean is not None or args.std is not None):
        parser.error('give either --variant or --mean/--std, not both')
    return args


def default_snippet_path(out: str) -> str:
    return osp.splitext(out)[0] + '_config.py'


def check_with_config(config_file: str, overrides: dict, state_dict: dict) -> None:
    """Build the config's model as the snippet describes it, without any pre-trained tower weights."""
    from mmengine.config import Config

    from zerovl.registry import MODELS
    from zerovl.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(config_file)
    cfg.merge_from_dict(dict(model=overrides))
    cfg.model.image_tower.pop('checkpoint', None)
    try:
        model = MODELS.build(cfg.model)
    except OSError as error:  # a tower named by hub name, offline and not cached
        raise ValueError(f'cannot build the model of {config_file} to check the weights against: {error}\n'
                         'Point the text tower at a local folder (model.text_tower.model_name_or_path) or '
                         'leave out --config.') from error
    check_against_model(state_dict, model, source=f'the converted checkpoint vs {config_file}')


def main(argv=None) -> int:
    args = parse_args(argv)
    trust_if_asked(args)
    try:
        norm = normalisation(args.variant, args.mean, args.std)
        original = extract_state_dict(load_from_local(args.src, map_location='cpu'), args.src)
        converted = convert_state_dict(original, args.src, args.temperature)
        overrides = model_overrides(converted, norm)
        if args.config:
            check_with_config(args.config, overrides, converted.state_dict)
    except (OriginalCheckpointError, UnsafeCheckpointError, FileNotFoundError, ValueError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    save_checkpoint(converted.state_dict, conversion_meta(converted, overrides, args.src, args.variant), args.out)
    snippet = config_snippet(overrides, args.out, args.src)
    snippet_path = save_snippet(snippet, args.snippet or default_snippet_path(args.out))
    print(f'{args.src} -> {args.out}: {len(converted.state_dict)} tensors')
    for key, reason in sorted(converted.ignored.items()):
        print(f'  left out {key}: {reason}')
    if not converted.temperature_in_checkpoint:
        print(f'  no loss.temperature in the checkpoint (constant τ): using {converted.temperature}')
    print(f'config snippet ({snippet_path}):\n{snippet}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
