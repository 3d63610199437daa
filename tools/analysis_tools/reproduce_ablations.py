"""Reproduce the direction of ZeroVL's ablations on this CPU (docs/reproduction.md, docs/method.md §5).

    python tools/analysis_tools/reproduce_ablations.py                      # every experiment, seeds 0 1 2
    python tools/analysis_tools/reproduce_ablations.py --experiments E1 --seeds 0
    python tools/analysis_tools/reproduce_ablations.py --experiments E1 --arms debias shuffle --max-iters 200
    python tools/analysis_tools/reproduce_ablations.py --report-only        # tables and plots from saved runs

Every run is a plain ``tools/train.py`` (or, for E4, ``tools/dist_train.sh ... 2``) command on the arm's leaf
config under configs/reproduction/ (its base, cpu_two_domain.py, is the baseline arm; ``diff`` shows what an
arm changes), with ``--cfg-options`` for the data root and the seed only. Arms of one
experiment take the same number of optimiser steps, and the same samples except where the batch size is
the ablated variable (E3, E7's last arm). A run's result is
the ``curves.json`` its TrainingCurvesHook writes (loss per step, retrieval and domain-gap metrics per
validation). Runs are stored under ``--out/runs/<hash of dataset + resolved config>-s<seed>`` and reused when
complete, so an interrupted reproduction resumes, and an arm shared by two experiments trains once.
"""
import argparse
import functools
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, NamedTuple, Sequence, Tuple

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from mmengine import Config  # noqa: E402

from zerovl.datasets.synthetic import make_synthetic_dataset  # noqa: E402
from zerovl.testing.distributed import find_free_port  # noqa: E402

CONFIGS = REPO / 'configs/reproduction'

# The synthetic sets, all at 32 px with 200 held-out images x 5 captions per domain. 'scarce' is E2's
# data-scarce regime (about 5 batches an epoch, so 300 steps are ~60 epochs and overfitting shows).
DATASETS = {
    'two_domain': dict(train_a=3200, train_b=1000),
    'look_alike': dict(train_a=3200, train_b=1000, look_alike=True),
    'scarce': dict(train_a=480, train_b=150),
}
COMMON_DATA = dict(valid_images=200, captions_per_image=5, image_size=32, seed=0)


class Arm(NamedTuple):
    """An arm is a leaf config under configs/reproduction/ (``diff`` it against its base to see the
    ablated change), trained on one of the synthetic sets. Arms that are the same config on the same data
    are the same run, which lets experiments share it."""
    name: str
    config: str = 'cpu_two_domain.py'  # under configs/reproduction/
    dataset: str = 'two_domain'
    processes: int = 1
    options: Tuple[str, ...] = ()  # run-time --cfg-options (a shorter schedule); the seed is added per run


# E3 stops at 128 and compares DGA with a true batch there (the base arm): a 300-step arm at 256 costs two
# base runs, at 512 four, and those would not fit the ~2 hours this 2-core CPU had for the whole
# reproduction (docs/reproduction.md). E7's last arm still goes to 256.
EXPERIMENTS: Dict[str, Dict[str, object]] = {
    'E1': dict(
        title='Sampling: debiased vs shuffled vs sequential batches, and the look-alike control',
        arms=[Arm('debias', 'e1_debias.py'), Arm('shuffle'), Arm('sequential', 'e1_sequential.py'),
              Arm('debias (look-alike)', 'e1_debias.py', 'look_alike'),
              Arm('shuffle (look-alike)', dataset='look_alike'),
              Arm('sequential (look-alike)', 'e1_sequential.py', 'look_alike')],
        claims=[('debias', 'shuffle', 'mean_rsum'), ('shuffle', 'sequential', 'mean_rsum'),
                ('debias (look-alike)', 'shuffle (look-alike)', 'mean_rsum'),
                ('shuffle', 'debias', 'domain_gap/image'), ('shuffle', 'debias', 'domain_gap/text')]),
    'E2': dict(
        title='Mixup in a data-scarce setting (630 training pairs, ~60 epochs)',
        arms=[Arm('none', dataset='scarce'), Arm('image only', 'e2_mixup_image.py', 'scarce'),
              Arm('text only', 'e2_mixup_text.py', 'scarce'), Arm('coin flip', 'e2_mixup_coin.py', 'scarce'),
              Arm('both', 'e2_mixup_both.py', 'scarce')],
        claims=[('coin flip', 'none', 'mean_rsum'), ('coin flip', 'image only', 'mean_rsum'),
                ('coin flip', 'text only', 'mean_rsum'), ('coin flip', 'both', 'mean_rsum')]),
    'E3': dict(
        title='Batch size through DGA (sub-batch 32) at equal steps, and DGA vs one true batch of 128',
        arms=[Arm('32', 'e3_batch_32.py'), Arm('64 (DGA 2x32)', 'e3_dga_64_in_32.py'),
              Arm('128 (DGA 4x32)', 'e3_dga_128_in_32.py'), Arm('128 (one batch)'),
              Arm('128 (one batch, no dropout)', 'e3_no_dropout.py'),
              Arm('128 (DGA 4x32, no dropout)', 'e3_dga_128_in_32_no_dropout.py')],
        # Pairs whose loss curves should coincide step by step (same seed, same batches, same gradient).
        same_curves=[('128 (DGA 4x32, no dropout)', '128 (one batch, no dropout)'),
                     ('128 (DGA 4x32)', '128 (one batch)')],
        claims=[('64 (DGA 2x32)', '32', 'mean_rsum'), ('128 (DGA 4x32)', '64 (DGA 2x32)', 'mean_rsum'),
                ('128 (DGA 4x32)', '32', 'mean_rsum')]),
    'E4': dict(
        title='Gather with gradient on vs off, 2 gloo processes x 64 (global batch 128)',
        arms=[Arm('gather with grad', 'e4_gather_with_grad.py', processes=2),
              Arm('gather without grad', 'e4_gather_without_grad.py', processes=2)],
        claims=[('gather with grad', 'gather without grad', 'mean_rsum')]),
    'E5': dict(
        title='Temperature: constants vs learnable',
        arms=[Arm('0.01', 'e5_temperature_0.01.py'), Arm('0.02'), Arm('0.05', 'e5_temperature_0.05.py'),
              Arm('0.1', 'e5_temperature_0.1.py'), Arm('learnable from 0.07', 'e5_temperature_learnable.py')],
        claims=[('0.02', 'learnable from 0.07', 'mean_rsum')]),
    'E7': dict(
        title='The cumulative stack: baseline, + debias, + mixup, + DGA batch 256',
        arms=[Arm('baseline (shuffle, 128)'), Arm('+ debias', 'e1_debias.py'),
              Arm('+ mixup', 'e7_debias_mixup.py'), Arm('+ DGA 256', 'e7_debias_mixup_dga_256.py')],
        claims=[('+ debias', 'baseline (shuffle, 128)', 'mean_rsum'), ('+ mixup', '+ debias', 'mean_rsum'),
                ('+ DGA 256', '+ mixup', 'mean_rsum')]),
}


# ------------------------------------------------------------------------------------------------ runs
class Run(NamedTuple):
    arm: Arm
    seed: int
    work_dir: Path


def data_root(out: Path, dataset: str) -> Path:
    return out / 'data' / dataset


def config_path(arm: Arm) -> Path:
    return CONFIGS / arm.config


@functools.lru_cache(maxsize=None)
def resolved_config(path: Path) -> str:
    """The arm's config as MMEngine resolves it (bases merged), for run identity: two files that resolve to
    the same settings are one run."""
    return json.dumps(Config.fromfile(str(path)).to_dict(), sort_keys=True, default=repr)


def uses_mixup(arm: Arm) -> bool:
    return bool(json.loads(resolved_config(config_path(arm)))['model'].get('mixup'))


def run_options(arm: Arm, seed: int, out: Path) -> List[str]:
    root = data_root(out, arm.dataset)
    # The vocabulary path stays the base config's: every set is generated with the same vocabulary
    # (prepare_data checks), so only the data roots move.
    roots = [f'{loader}.dataset.datasets.{i}.data_root={root}'
             for loader in ('train_dataloader', 'val_dataloader') for i in (0, 1)]
    return list(arm.options) + roots + [f'randomness.seed={seed}'] + (
        [f'model.mixup.seed={seed}'] if uses_mixup(arm) else [])


def run_dir(out: Path, arm: Arm, seed: int) -> Path:
    key = json.dumps([arm.dataset, resolved_config(config_path(arm)), sorted(arm.options), arm.processes])
    return out / 'runs' / f'{hashlib.sha1(key.encode()).hexdigest()[:10]}-s{seed}'


def command(run: Run, out: Path) -> List[str]:
    # --overwrite: an unfinished run is started again from scratch in its work dir (train.py would refuse
    # a work dir holding the checkpoints of the earlier attempt).
    options = ['--cfg-options'] + run_options(run.arm, run.seed, out)
    if run.arm.processes > 1:
        # The study is a CPU study: two gloo processes, also next to a GPU (two ranks cannot share one).
        return ['bash', str(REPO / 'tools/dist_train.sh'), str(config_path(run.arm)), str(run.arm.processes),
                '--work-dir', str(run.work_dir), '--overwrite', '--device', 'cpu'] + options
    return [sys.executable, str(REPO / 'tools/train.py'), str(config_path(run.arm)), '--work-dir', str(run.work_dir),
            '--overwrite'] + options


def is_complete(run: Run) -> bool:
    return (run.work_dir / 'done.json').is_file() and (run.work_dir / 'curves.json').is_file()


def prepare_data(out: Path, names: Sequence[str]) -> None:
    vocabularies = set()
    for name in names:
        summary = make_synthetic_dataset(data_root(out, name), **DATASETS[name], **COMMON_DATA)
        vocabularies.add(Path(summary['vocab']).read_text())
    base_vocab = make_synthetic_dataset(REPO / 'data/reproduction/two_domain', **DATASETS['two_domain'],
                                        **COMMON_DATA)['vocab']
    vocabularies.add(Path(base_vocab).read_text())
    if len(vocabularies) != 1:
        raise RuntimeError('the synthetic sets have different vocabularies; the runs share one tokenizer')


class Active(NamedTuple):
    run: Run
    process: subprocess.Popen
    log: object
    start: float


def launch(run: Run, out: Path, make_command=None) -> Active:
    """``make_command(run, out)`` builds the command (default: ``command``; reproduce_real.py passes its own)."""
    run.work_dir.mkdir(parents=True, exist_ok=True)
    cmd = (make_command or command)(run, out)
    (run.work_dir / 'command.txt').write_text(' '.join(cmd) + '\n')
    # One thread per process: the scheduler fills the cores with processes instead, which scales better
    # on a small CPU than one run with several threads.
    env = dict(os.environ, OMP_NUM_THREADS='1', PORT=str(find_free_port()), PYTHONPATH=str(REPO),
               PYTHON=sys.executable)
    log = (run.work_dir / 'log.txt').open('w')
    return Active(run, subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT), log,
                  time.time())


def can_start(run: Run, active: List[Active], slots: int) -> bool:
    """A run takes one slot per process; one wider than all the slots starts when nothing else runs."""
    busy = sum(item.run.arm.processes for item in active)
    return busy + run.arm.processes <= slots or not active


def finish(item: Active) -> bool:
    item.log.close()
    run, elapsed = item.run, time.time() - item.start
    if item.process.returncode == 0 and (run.work_dir / 'curves.json').is_file():
        (run.work_dir / 'done.json').write_text(json.dumps({'seconds': elapsed}))
        print(f'done  {run.arm.name!r} seed {run.seed} in {elapsed:.0f} s -> {run.work_dir}', flush=True)
        return True
    print(f'FAILED {run.arm.name!r} seed {run.seed} (exit {item.process.returncode}); '
          f'see {run.work_dir / "log.txt"}', flush=True)
    return False


def run_all(runs: List[Run], out: Path, slots: int, make_command=None) -> None:
    pending = [run for run in runs if not is_complete(run)]
    print(f'{len(runs) - len(pending)} of {len(runs)} runs already complete; {len(pending)} to go', flush=True)
    active: List[Active] = []
    failures = 0
    while pending or active:
        while pending and can_start(pending[0], active, slots):
            active.append(launch(pending.pop(0), out, make_command))
        time.sleep(1.0)
        for item in [item for item in active if item.process.poll() is not None]:
            active.remove(item)
            failures += not finish(item)
    if failures:
        raise SystemExit(f'{failures} runs failed')


def schedule(max_iters: int) -> Tuple[str, ...]:
    """A shorter (or longer) schedule of the same shape, with one validation at the end: the config's
    warm-up (10 % of the run) and cosine end follow ``train_cfg.max_iters`` by themselves."""
    return (f'train_cfg.max_iters={max_iters}', f'train_cfg.val_interval={max_iters}')


def planned_runs(experiments: Sequence[str], seeds: Sequence[int], out: Path, arms: Sequence[str] = (),
                 max_iters: int = 0) -> Dict[str, List[Run]]:
    """Runs per experiment; ``arms`` keeps only the named arms, ``max_iters`` replaces the schedule (and,
    being part of the options, gives the runs their own directories)."""
    plan = {}
    for name in experiments:
        chosen = [arm for arm in EXPERIMENTS[name]['arms'] if not arms or arm.name in arms]
        if max_iters:
            chosen = [arm._replace(options=arm.options + schedule(max_iters)) for arm in chosen]
        plan[name] = [Run(arm, seed, run_dir(out, arm, seed)) for arm in chosen for seed in seeds]
    return plan


def unique_runs(plan: Dict[str, List[Run]]) -> List[Run]:
    """Each run once, seed by seed: stopped early, the finished runs still cover every arm."""
    seen, runs = set(), []
    for experiment_runs in plan.values():
        for run in experiment_runs:
            if run.work_dir not in seen:
                seen.add(run.work_dir)
                runs.append(run)
    return sorted(runs, key=lambda run: run.seed)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--experiments', nargs='+', default=list(EXPERIMENTS), choices=list(EXPERIMENTS))
    parser.add_argument('--arms', nargs='+', default=[], help='only these arms (by name) of the experiments')
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    parser.add_argument('--max-iters', type=int, default=0,
                        help='another schedule length (default: the base config\'s 300 steps)')
    parser.add_argument('--out', type=Path, default=REPO / 'work_dirs/reproduction',
                        help='data, runs and the report (results.md, results.json, PNG plots) go here')
    parser.add_argument('--jobs', type=int, default=os.cpu_count() or 1, help='processes at a time')
    parser.add_argument('--report-only', action='store_true', help='skip training; report the runs on disk')
    parser.add_argument('--report-dir', type=Path, help='where results.md/json and the plots go (default: --out)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    out = args.out.resolve()
    plan = planned_runs(args.experiments, args.seeds, out, args.arms, args.max_iters)
    if not args.report_only:
        datasets = sorted({run.arm.dataset for runs in plan.values() for run in runs})
        prepare_data(out, datasets)
        run_all(unique_runs(plan), out, args.jobs)
    from ablation_report import write_report  # next to this file
    specs = {name: dict(EXPERIMENTS[name], arms=list(dict.fromkeys(run.arm for run in runs)))
             for name, runs in plan.items()}
    return write_report(plan, specs, (args.report_dir or out).resolve())


sys.path.insert(0, str(Path(__file__).resolve().parent))

if __name__ == '__main__':
    main()
