"""Train a zerovl model from a config: python tools/train.py CONFIG [options]."""
import argparse
import os
import sys
from pathlib import Path
from typing import List, Tuple

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

# The repository root, not only tools/, on sys.path: configs under projects/ load their plugin with
# custom_imports=dict(imports=['projects.<name>.<package>']), which is imported from here.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zerovl.datasets.batch_fit import BatchLargerThanDataError, check_batch_fits  # noqa: E402
from zerovl.engine import prepare_distributed  # noqa: E402
from zerovl.utils.checkpoint import add_trust_checkpoint_argument, trust_if_asked  # noqa: E402
from zerovl.engine.resume_checkpoint import (NoLoadableCheckpointError, choose_resume_checkpoint,  # noqa: E402
                                             unreadable_reason)
from zerovl.engine.teardown import finish_run  # noqa: E402
from zerovl.engine.used_work_dir import (UsedWorkDirError, move_checkpoints_aside,  # noqa: E402
                                         refuse_used_work_dir)
from zerovl.utils import load_config, register_all_modules  # noqa: E402
from zerovl.utils.config_overrides import ConfigOverrideError  # noqa: E402
from zerovl.utils.device import DeviceUnavailableError, add_device_argument, pin_run_device  # noqa: E402
from zerovl.utils.state_dict_fit import StateDictMismatchError  # noqa: E402

AMP_DTYPES = ('float16', 'bfloat16')
EXAMPLES = """examples:
  # the CPU demo: checkpoints, the log and TensorBoard files go to work_dirs/zerovl_demo/
  python tools/train.py configs/zerovl/zerovl_demo.py
  # your own data (docs/custom_data.md), one key per setting
  python tools/train.py configs/zerovl/zerovl_custom_csv.py \\
      --cfg-options custom_data.data_root=data/mine custom_data.batch_size=32
  # continue the run in the work dir from its newest complete checkpoint
  python tools/train.py configs/zerovl/zerovl_demo.py --resume
  # two processes on this machine (gloo on the CPU, NCCL on GPUs)
  bash tools/dist_train.sh configs/zerovl/zerovl_demo.py 2
then: tensorboard --logdir work_dirs, or python tools/analysis_tools/plot_curves.py WORK_DIR
"""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a zerovl model', epilog=EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='config file path')
    parser.add_argument('--work-dir', help='where logs and checkpoints go (default: work_dirs/CONFIG_NAME)')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from CKPT, or from the newest complete checkpoint in the work dir if none '
                             'is given (nothing there: train from scratch, saying so)')
    parser.add_argument('--overwrite', action='store_true',
                        help='train afresh into a work dir that holds checkpoints of an earlier run, after moving '
                             'them into WORK_DIR/overwritten/TIMESTAMP/')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision: fp16 + GradScaler on CUDA, bf16 autocast on CPU')
    parser.add_argument('--amp-dtype', choices=AMP_DTYPES, default=None,
                        help='mixed precision in this dtype (implies --amp): bfloat16 autocasts without a loss '
                             'scaler, also on CUDA where the GPU has bf16 (Ampere or newer)')
    add_trust_checkpoint_argument(parser)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. train_dataloader.batch_size=64')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none')
    add_device_argument(parser)
    args = parser.parse_args(argv)
    if args.resume and args.overwrite:
        parser.error('--resume continues the run in the work dir, --overwrite starts afresh: choose one')
    os.environ.setdefault('LOCAL_RANK', '0')
    return args


def build_config(args) -> Tuple[Config, List[str]]:
    """The config to train, and the lines to log once the Runner's logger exists (which checkpoint a
    resume skipped and why, what --overwrite moved)."""
    try:
        cfg = load_config(args.config, args.cfg_options, args.work_dir)
    except ConfigOverrideError as err:
        raise SystemExit(str(err))
    if args.amp or args.amp_dtype:
        cfg.optim_wrapper.type = 'DeviceAmpOptimWrapper'
    if args.amp_dtype:
        cfg.optim_wrapper.dtype = args.amp_dtype
    notes = choose_checkpoint(cfg, args.resume) if args.resume else clear_work_dir(cfg.work_dir, args)
    check_pretrained_weights(cfg, args.config)
    pin_run_device(cfg, args.device)
    try:  # before the Runner builds the model (pre-trained towers can take minutes) and any process group
        check_batch_fits(cfg.get('train_dataloader') or {}, launched_world_size(args.launcher))
    except BatchLargerThanDataError as err:
        raise SystemExit(f'error: {err}') from None
    prepare_distributed(cfg, args.launcher)
    return cfg, notes


def launched_world_size(launcher: str) -> int:
    """Processes in the run, as the launcher announced them (1 without one)."""
    if launcher == 'pytorch':
        return int(os.environ.get('WORLD_SIZE', '1'))
    if launcher == 'slurm':
        return int(os.environ.get('SLURM_NTASKS', '1'))
    return 1


def choose_checkpoint(cfg: Config, resume: str) -> List[str]:
    """Point ``cfg`` at the checkpoint ``--resume`` continues from: the one named (refused when it cannot
    load), or the newest complete one in the work dir; with none there, train from scratch and say so."""
    if resume != 'auto':
        reason = None if '://' in resume else unreadable_reason(resume)
        if reason:
            raise SystemExit(f'--resume {resume}: cannot resume from this checkpoint: {reason}')
        cfg.resume, cfg.load_from = True, resume
        return []
    try:
        choice = choose_resume_checkpoint(cfg.work_dir)
    except NoLoadableCheckpointError as err:
        raise SystemExit(str(err))
    if choice.path is None:
        cfg.resume = False  # the config's own load_from (pre-trained weights), if any, still applies
        return [f'--resume: nothing to resume in {cfg.work_dir} (no last_checkpoint, no epoch_N.pth or '
                'iter_N.pth): training from scratch']
    cfg.resume, cfg.load_from = True, choice.path
    fallback = ' (the newest checkpoint that loads)' if choice.skipped else ''
    return [f'Not resuming from {line}' for line in choice.skipped] + [f'Resuming from {choice.path}{fallback}']


def clear_work_dir(work_dir: str, args) -> List[str]:
    """A fresh run must not overwrite an earlier run's checkpoints: refuse, or with ``--overwrite`` move
    them aside (rank 0 only; the other ranks start without looking, so they never race it)."""
    if not args.overwrite:
        try:
            refuse_used_work_dir(work_dir)
        except UsedWorkDirError as err:
            raise SystemExit(str(err))
        return []
    if args.launcher != 'none' and int(os.environ.get('RANK', os.environ.get('SLURM_PROCID', '0'))) != 0:
        return []
    moved = move_checkpoints_aside(work_dir)
    return [f'--overwrite: moved the earlier run\'s checkpoints into {moved}'] if moved else []


def check_pretrained_weights(cfg: Config, config_file: str) -> None:
    """Fine-tuning configs set ``requires_load_from = True``: without ``load_from`` MMEngine would
    silently fine-tune randomly initialised towers."""
    if cfg.get('requires_load_from') and not cfg.get('load_from') and not cfg.get('resume'):
        raise SystemExit(f'{config_file} fine-tunes a pre-trained model: pass its checkpoint with '
                         '--cfg-options load_from=PATH (or resume with --resume)')


def main(argv=None):
    args = parse_args(argv)
    trust_if_asked(args)
    register_all_modules()
    try:
        cfg, notes = build_config(args)
    except DeviceUnavailableError as error:
        raise SystemExit(f'error: {error}') from None
    runner = None
    try:
        runner = Runner.from_cfg(cfg)
        for note in notes:
            runner.logger.warning(note)
        runner.train()
    finally:
        # Before the interpreter exits: a gloo group left to finalization can abort the process (SIGABRT).
        finish_run(runner, args.launcher)


if __name__ == '__main__':
    try:
        main()
    except StateDictMismatchError as error:  # StrictLoadHook refused load_from / resume
        sys.exit(f'error: {error}')
