"""Evaluate a checkpoint: python tools/test.py CONFIG CHECKPOINT [--out metrics.json].

Without CHECKPOINT the model is evaluated as its config builds it: pretrained towers from their hub names or
local files and freshly initialised heads, the "before training" row of a fine-tuning report.
"""
import argparse
import json
import os
import os.path as osp
import sys
from pathlib import Path

from mmengine.config import DictAction
from mmengine.dist import is_main_process
from mmengine.runner import Runner

# The repository root, not only tools/, on sys.path: configs under projects/ load their plugin with
# custom_imports=dict(imports=['projects.<name>.<package>']), which is imported from here.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zerovl.engine import prepare_distributed  # noqa: E402
from zerovl.utils.checkpoint import add_trust_checkpoint_argument, trust_if_asked  # noqa: E402
from zerovl.engine.hooks import EvalProgressHook  # noqa: E402
from zerovl.engine.hooks.custom_hooks import ensure_custom_hook  # noqa: E402
from zerovl.engine.log_file_runner import LogFileRunner  # noqa: E402
from zerovl.engine.teardown import finish_run  # noqa: E402
from zerovl.evaluation import format_metrics_table  # noqa: E402
from zerovl.utils import load_config, register_all_modules  # noqa: E402
from zerovl.utils.config_overrides import ConfigOverrideError  # noqa: E402
from zerovl.utils.device import DeviceUnavailableError, add_device_argument, pin_run_device  # noqa: E402
from zerovl.utils.state_dict_fit import StateDictMismatchError  # noqa: E402


EXAMPLES = """examples:
  # the demo's checkpoint: a progress line, then the retrieval table (the full log goes to a file, named)
  python tools/test.py configs/zerovl/zerovl_demo.py work_dirs/zerovl_demo/epoch_6.pth --out metrics.json
  # your own data: the held-out split of custom_data (docs/custom_data.md)
  python tools/test.py configs/zerovl/zerovl_custom_csv.py work_dirs/zerovl_custom_csv/epoch_10.pth
  # the model as the config builds it (pre-trained towers, untrained heads): the "before training" row
  python tools/test.py configs/real/zerovl_emoji_lite0_minilm.py
  # two processes
  bash tools/dist_test.sh configs/zerovl/zerovl_demo.py work_dirs/zerovl_demo/epoch_6.pth 2
"""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Evaluate a zerovl checkpoint', epilog=EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', nargs='?', default=None,
                        help='checkpoint file; omitted: evaluate the model exactly as the config builds it')
    parser.add_argument('--work-dir', help='where the evaluation log goes')
    parser.add_argument('--out', help='write the metrics to this JSON file')
    add_trust_checkpoint_argument(parser)
    parser.add_argument('--no-progress', action='store_true',
                        help='no progress display during evaluation (EvalProgressHook)')
    parser.add_argument('--verbose', action='store_true',
                        help='also print the environment, the config and the hooks (always in the log file)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config keys')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none')
    add_device_argument(parser)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', '0')
    return args


def add_progress_hook(cfg) -> None:
    """Append ``EvalProgressHook`` to ``cfg.custom_hooks`` unless the config already has one."""
    ensure_custom_hook(cfg, EvalProgressHook)


def main(argv=None):
    args = parse_args(argv)
    trust_if_asked(args)
    register_all_modules()
    try:
        cfg = load_config(args.config, args.cfg_options, args.work_dir)
    except ConfigOverrideError as err:
        raise SystemExit(str(err))
    cfg.load_from = args.checkpoint
    cfg.resume = False
    if args.checkpoint is None:
        print(f'no checkpoint given: evaluating {args.config} as built (pretrained towers where the config '
              f'names them, seed {cfg.get("randomness", {}).get("seed")} for everything else)')
    if not args.no_progress:
        add_progress_hook(cfg)
    try:
        pin_run_device(cfg, args.device)
    except DeviceUnavailableError as error:
        raise SystemExit(f'error: {error}') from None
    prepare_distributed(cfg, args.launcher)
    runner = None
    try:
        runner = (Runner if args.verbose else LogFileRunner).from_cfg(cfg)
        if is_main_process() and not args.verbose:
            print(f'evaluating {args.checkpoint or "the model as built"} on {args.config}; '
                  f'full log (environment, config, hooks): {runner.log_file}')
        metrics = runner.test()
        main_process = is_main_process()  # asked before the group is gone (then every rank says rank 0)
    finally:
        finish_run(runner, args.launcher)  # workers, then the process group, while the interpreter is whole
    if main_process:
        print(format_metrics_table(metrics))
        if args.out:
            os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
            with open(args.out, 'w') as f:
                json.dump(metrics, f, indent=2)
            print(f'metrics written to {args.out}')
    return metrics


if __name__ == '__main__':
    try:
        main()
    except StateDictMismatchError as error:  # StrictLoadHook: no metrics of weights that were not loaded
        sys.exit(f'error: {error}')
