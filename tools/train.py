"""Train a zerovl model from a config: python tools/train.py CONFIG [options]."""
import argparse
import os
import sys
from pathlib import Path

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

# The repository root, not only tools/, on sys.path: configs under projects/ load their plugin with
# custom_imports=dict(imports=['projects.<name>.<package>']), which is imported from here.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zerovl.engine import prepare_distributed  # noqa: E402
from zerovl.engine.checkpoint import TRUST_ENV  # noqa: E402
from zerovl.utils import load_config, register_all_modules  # noqa: E402
from zerovl.utils.device import DeviceUnavailableError, add_device_argument, pin_run_device  # noqa: E402
from zerovl.utils.state_dict_fit import StateDictMismatchError  # noqa: E402

AMP_DTYPES = ('float16', 'bfloat16')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a zerovl model')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--work-dir', help='where logs and checkpoints go (default: work_dirs/CONFIG_NAME)')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from CKPT, or from the latest checkpoint in the work dir if none is given')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision: fp16 + GradScaler on CUDA, bf16 autocast on CPU')
    parser.add_argument('--amp-dtype', choices=AMP_DTYPES, default=None,
                        help='mixed precision in this dtype (implies --amp): bfloat16 autocasts without a loss '
                             'scaler, also on CUDA where the GPU has bf16 (Ampere or newer)')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='load checkpoints with full pickle (only for files you trust)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. train_dataloader.batch_size=64')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none')
    add_device_argument(parser)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', '0')
    return args


def build_config(args) -> Config:
    cfg = load_config(args.config, args.cfg_options, args.work_dir)
    if args.amp or args.amp_dtype:
        cfg.optim_wrapper.type = 'DeviceAmpOptimWrapper'
    if args.amp_dtype:
        cfg.optim_wrapper.dtype = args.amp_dtype
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume:
        cfg.resume, cfg.load_from = True, args.resume
    check_pretrained_weights(cfg, args.config)
    pin_run_device(cfg, args.device)
    prepare_distributed(cfg, args.launcher)
    return cfg


def check_pretrained_weights(cfg: Config, config_file: str) -> None:
    """Fine-tuning configs set ``requires_load_from = True``: without ``load_from`` MMEngine would
    silently fine-tune randomly initialised towers."""
    if cfg.get('requires_load_from') and not cfg.get('load_from') and not cfg.get('resume'):
        raise SystemExit(f'{config_file} fine-tunes a pre-trained model: pass its checkpoint with '
                         '--cfg-options load_from=PATH (or resume with --resume)')


def main(argv=None):
    args = parse_args(argv)
    if args.trust_checkpoint:
        os.environ[TRUST_ENV] = '1'
    register_all_modules()
    try:
        cfg = build_config(args)
    except DeviceUnavailableError as error:
        raise SystemExit(f'error: {error}') from None
    runner = Runner.from_cfg(cfg)
    runner.train()


if __name__ == '__main__':
    try:
        main()
    except StateDictMismatchError as error:  # StrictLoadHook refused load_from / resume
        sys.exit(f'error: {error}')
