"""ZeroVL's ablations in ZeroVL's own regime: pretrained towers, real pairs from several sources (issue 19).

    make real-multisource                                          # the data (once)
    python tools/analysis_tools/reproduce_real.py                  # E1 E2 E4 E5 E7, seeds 0 1 2 (make reproduce-real)
    python tools/analysis_tools/reproduce_real.py --experiments E1 --arms debias --seeds 0 --max-iters 3   # smoke
    python tools/analysis_tools/reproduce_real.py --report-only    # tables and plots from saved runs
    python tools/analysis_tools/reproduce_real.py --experiments E1 E4 --out work_dirs/reproduction_real_t005 \
        --cfg-options model.loss.temperature.init=0.05              # the same arms on another base

The synthetic study's machinery (tools/analysis_tools/reproduce_ablations.py: each arm a leaf config, runs
keyed by the resolved config and reused when complete, N processes at a time; ablation_report.py: tables,
claims paired by seed, plots) on the leaf configs of configs/reproduction_real/ (base: lite0_minilm_sources.py,
the shuffled baseline; e1_debias.py ... e7_debias_mixup_dga_256.py change only the ablated keys): EfficientNet-Lite0
+ all-MiniLM-L6-v2 fine-tuned on the Google and Twitter emoji of data/emoji_sources, with every arm also
evaluated on the source left out of training (OpenMoji by default: other art, other captions), by retrieval
on its held-out concepts ('openmoji/rsum', part of every validation) and by zero-shot classification of all
its images into the nine emoji groups ('left_out/top1': tools/test.py with
configs/reproduction_real/zero_shot_left_out.py on the run's last checkpoint, which is then deleted; the
accuracy is added to the last validation of the run's curves.json so the report treats it as any metric).
The look-alike control of E1 trains on the training sources' pairs dealt into pseudo-sources of the same
sizes (zerovl/datasets/converters/pooled_sources.py); E2's data-scarce set is data/emoji_sources_scarce
(20 % of the training concepts, the same held-out sets). Every arm is evaluated on the same held-out sets.
"""
import argparse
import hashlib
import json
import os
import shlex
import sys
from pathlib import Path
from typing import Dict, List

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from reproduce_ablations import Arm, Run, resolved_config, run_all, unique_runs  # noqa: E402

from zerovl.datasets.converters.pooled_sources import pool_sources  # noqa: E402

CONFIGS = REPO / 'configs/reproduction_real'
BASE_CONFIG = CONFIGS / 'lite0_minilm_sources.py'
ZERO_SHOT_CONFIG = CONFIGS / 'zero_shot_left_out.py'
SOURCES = ('google', 'twitter', 'openmoji')
MAX_ITERS = 44  # the base config's (tests check); the checkpoint the zero-shot test reads is named after it
ZERO_SHOT_KEYS = ('left_out/top1', 'left_out/top3')


def experiments(left_out: str) -> Dict[str, dict]:
    """The arms and claims of the study; claims on the training sources' held-out concepts ('mean_rsum' is the
    mean over all three sources' held-out sets) and on the left-out source (transfer)."""
    transfer = f'{left_out}/rsum'

    def both(better: str, worse: str) -> list:
        return [(better, worse, 'mean_rsum'), (better, worse, transfer), (better, worse, 'left_out/top1')]

    base = BASE_CONFIG.name
    return {
        'E1': dict(
            title='Sampling on real sources: debiased vs shuffled vs sequential batches, and the look-alike control',
            arms=[Arm('debias', 'e1_debias.py'), Arm('shuffle', base), Arm('sequential', 'e1_sequential.py'),
                  Arm('debias (look-alike)', 'e1_debias.py', 'look_alike'),
                  Arm('shuffle (look-alike)', base, 'look_alike')],
            claims=both('debias', 'shuffle') + [('shuffle', 'sequential', 'mean_rsum'),
                                                ('debias (look-alike)', 'shuffle (look-alike)', 'mean_rsum'),
                                                ('shuffle', 'debias', 'domain_gap/image'),
                                                ('shuffle', 'debias', 'domain_gap/text')]),
        'E2': dict(
            title='Mixup with little data (20 % of the training concepts)',
            arms=[Arm('none', base, 'scarce'), Arm('image only', 'e2_mixup_image.py', 'scarce'),
                  Arm('text only', 'e2_mixup_text.py', 'scarce'), Arm('coin flip', 'e2_mixup_coin.py', 'scarce'),
                  Arm('both', 'e2_mixup_both.py', 'scarce')],
            claims=both('coin flip', 'none') + [('coin flip', 'image only', 'mean_rsum'),
                                                ('coin flip', 'text only', 'mean_rsum'),
                                                ('coin flip', 'both', 'mean_rsum')]),
        'E4': dict(
            title='Gather with gradient on vs off, 2 gloo processes x 64 (global batch 128)',
            arms=[Arm('gather with grad', 'e4_gather_with_grad.py', processes=2),
                  Arm('gather without grad', 'e4_gather_without_grad.py', processes=2)],
            claims=both('gather with grad', 'gather without grad')),
        'E5': dict(
            title='Temperature: constants vs learnable',
            arms=[Arm('0.01', 'e5_temperature_0.01.py'), Arm('0.02', base), Arm('0.05', 'e5_temperature_0.05.py'),
                  Arm('0.1', 'e5_temperature_0.1.py'), Arm('learnable from 0.07', 'e5_temperature_learnable.py')],
            claims=both('0.02', 'learnable from 0.07')),
        'E7': dict(
            title='The cumulative stack: baseline, + debias, + mixup, + DGA batch 256',
            arms=[Arm('baseline (shuffle, 128)', base), Arm('+ debias', 'e1_debias.py'),
                  Arm('+ mixup', 'e7_debias_mixup.py'), Arm('+ DGA 256', 'e7_debias_mixup_dga_256.py')],
            claims=both('+ debias', 'baseline (shuffle, 128)') + both('+ mixup', '+ debias')
            + both('+ DGA 256', '+ mixup') + both('+ DGA 256', 'baseline (shuffle, 128)')),
    }


# ------------------------------------------------------------------------------------------------ data
class Study:
    """Where the data are, which source is left out, where the runs go."""

    def __init__(self, data: Path, left_out: str, out: Path, max_iters: int, base_options=()):
        self.data, self.left_out, self.out, self.max_iters = data, left_out, out, max_iters
        # Config keys changed in every arm (another base, e.g. another temperature), after the arm's own.
        self.base_options = list(base_options)
        self.train_sources = [source for source in SOURCES if source != left_out]

    @staticmethod
    def kind(dataset: str) -> str:
        """Arms that name no dataset (Arm's default, the synthetic study's name) train on the real sources."""
        return 'sources' if dataset == Arm._field_defaults['dataset'] else dataset

    def train_root(self, dataset: str) -> Path:
        dataset = self.kind(dataset)
        return dict(sources=self.data / 'emoji_sources', scarce=self.data / 'emoji_sources_scarce',
                    look_alike=self.out / 'data' / f'look_alike_without_{self.left_out}')[dataset]

    def train_names(self, dataset: str) -> List[str]:
        if dataset == 'look_alike':
            return [f'pool_{index}' for index in range(len(self.train_sources))]
        return self.train_sources

    def prepare(self, datasets) -> None:
        for dataset in ('sources', 'scarce'):
            summary = self.train_root(dataset) / 'summary.json'
            if dataset in datasets and not summary.is_file():
                raise SystemExit(f'{summary} not found: run `make real-multisource` first')
        if 'look_alike' in datasets:
            sizes = pool_sources(str(self.train_root('sources')), self.train_sources,
                                 str(self.train_root('look_alike')))
            print(f'look-alike control: {sizes} images per pseudo-source', flush=True)


# ------------------------------------------------------------------------------------------------ runs
def config_path(arm: Arm) -> Path:
    return CONFIGS / arm.config


def uses_mixup(arm: Arm) -> bool:
    return bool(json.loads(resolved_config(config_path(arm)))['model'].get('mixup'))


def run_options(study: Study, arm: Arm, seed: int) -> List[str]:
    """The data of the arm (its training sources, every source's held-out set), the schedule, the seed."""
    options = list(arm.options)
    for index, name in enumerate(study.train_names(arm.dataset)):
        prefix = f'train_dataloader.dataset.datasets.{index}'
        options += [f'{prefix}.data_root={study.train_root(arm.dataset)}', f'{prefix}.name={name}']
    for index, name in enumerate(study.train_sources + [study.left_out]):
        prefix = f'val_dataloader.dataset.datasets.{index}'
        options += [f'{prefix}.data_root={study.train_root("sources")}', f'{prefix}.name={name}']
    if study.max_iters != MAX_ITERS:
        options += [f'train_cfg.max_iters={study.max_iters}', f'train_cfg.val_interval={study.max_iters}',
                    f'default_hooks.checkpoint.interval={study.max_iters}']
    options += study.base_options
    options.append(f'randomness.seed={seed}')
    if uses_mixup(arm):
        options.append(f'model.mixup.seed={seed}')
    return options


def run_dir(study: Study, arm: Arm, seed: int) -> Path:
    # Base options join the key only when given, so the runs of the plain study keep their directories.
    key = json.dumps([arm.dataset, resolved_config(config_path(arm)), sorted(arm.options), arm.processes,
                      study.left_out, study.max_iters] + ([study.base_options] if study.base_options else []))
    return study.out / 'runs' / f'{hashlib.sha1(key.encode()).hexdigest()[:10]}-s{seed}'


def train_command(study: Study, run: Run) -> List[str]:
    options = ['--cfg-options'] + run_options(study, run.arm, run.seed)
    common = ['--work-dir', str(run.work_dir), '--overwrite']
    if run.arm.processes > 1:
        return ['bash', str(REPO / 'tools/dist_train.sh'), str(config_path(run.arm)), str(run.arm.processes)] + (
            common + ['--device', 'cpu'] + options)
    return [sys.executable, str(REPO / 'tools/train.py'), str(config_path(run.arm))] + common + options


def zero_shot_command(study: Study, run: Run) -> List[str]:
    checkpoint = run.work_dir / f'iter_{study.max_iters}.pth'
    return [sys.executable, str(REPO / 'tools/test.py'), str(ZERO_SHOT_CONFIG), str(checkpoint), '--no-progress',
            '--work-dir', str(run.work_dir / 'zero_shot'), '--out', str(run.work_dir / 'zero_shot.json'),
            '--cfg-options',
            f'test_dataloader.dataset.datasets.0.data_root={study.train_root("sources") / study.left_out}',
            f'test_dataloader.dataset.datasets.1.data_root={study.train_root("sources") / study.left_out}',
            f'test_dataloader.dataset.datasets.0.classes={study.train_root("sources") / "groups.txt"}',
            f'test_dataloader.dataset.datasets.1.classes={study.train_root("sources") / "groups.txt"}']


def command(study: Study, run: Run) -> List[str]:
    """Train, test zero-shot on the left-out source, merge its accuracy into curves.json, drop the checkpoint.
    One shell line, so the scheduler's success test (exit 0 and curves.json) covers all four."""
    merge = [sys.executable, str(Path(__file__).resolve()), '--merge-zero-shot', str(run.work_dir)]
    steps = [train_command(study, run), zero_shot_command(study, run), merge]
    line = ' && '.join(shlex.join(step) for step in steps)
    return ['bash', '-c', f'{line} && rm -f {shlex.quote(str(run.work_dir))}/iter_*.pth']


def merge_zero_shot(work_dir: Path) -> None:
    """Add the zero-shot accuracies to the last validation of the run's curves (as the report reads them)."""
    scores = json.loads((work_dir / 'zero_shot.json').read_text())
    curves = json.loads((work_dir / 'curves.json').read_text())
    missing = [key for key in ZERO_SHOT_KEYS if key not in scores]
    if missing or not curves.get('val'):
        raise SystemExit(f'{work_dir}: zero_shot.json lacks {missing} or curves.json has no validation')
    curves['val'][-1][1].update({key: scores[key] for key in ZERO_SHOT_KEYS})
    (work_dir / 'curves.json').write_text(json.dumps(curves))


def planned_runs(study: Study, names, seeds, arms=()) -> Dict[str, List[Run]]:
    specs = experiments(study.left_out)
    return {name: [Run(arm, seed, run_dir(study, arm, seed)) for arm in specs[name]['arms']
                   if not arms or arm.name in arms for seed in seeds] for name in names}


def table_metrics(study: Study):
    return ([(f'{source}/rsum', f'RSUM {source}') for source in study.train_sources]
            + [('mean_rsum', 'mean RSUM (3 sources)'), (f'{study.left_out}/rsum', f'RSUM {study.left_out} (left out)'),
               ('left_out/top1', f'zero-shot top-1 {study.left_out} (left out)')])


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    names = list(experiments('openmoji'))
    parser.add_argument('--experiments', nargs='+', default=names, choices=names)
    parser.add_argument('--arms', nargs='+', default=[], help='only these arms (by name) of the experiments')
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    parser.add_argument('--left-out', default='openmoji', choices=SOURCES,
                        help='the source kept out of training and evaluated for transfer (default: openmoji)')
    parser.add_argument('--max-iters', type=int, default=MAX_ITERS,
                        help=f'steps per run (default: the base config\'s {MAX_ITERS}); one validation at the end '
                             'when changed')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='config keys set in every arm after its own, e.g. another base temperature: '
                             'model.loss.temperature.init=0.05 (use another --out: they are part of the run key)')
    parser.add_argument('--data', type=Path, default=REPO / 'data', help='holds emoji_sources(_scarce)/')
    parser.add_argument('--out', type=Path, default=REPO / 'work_dirs/reproduction_real',
                        help='look-alike data, runs and the report (results.md, results.json, PNG plots) go here')
    parser.add_argument('--jobs', type=int, default=os.cpu_count() or 1, help='processes at a time')
    parser.add_argument('--report-only', action='store_true', help='skip training; report the runs on disk')
    parser.add_argument('--report-dir', type=Path, help='where results.md/json and the plots go (default: --out)')
    parser.add_argument('--merge-zero-shot', type=Path, help=argparse.SUPPRESS)  # a run's own last step
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.merge_zero_shot:
        return merge_zero_shot(args.merge_zero_shot)
    study = Study(args.data.resolve(), args.left_out, args.out.resolve(), args.max_iters, args.cfg_options)
    plan = planned_runs(study, args.experiments, args.seeds, args.arms)
    if not args.report_only:
        study.prepare({study.kind(run.arm.dataset) for runs in plan.values() for run in runs})
        run_all(unique_runs(plan), study.out, args.jobs, lambda run, _: command(study, run))
    from ablation_report import write_report  # next to this file
    specs = experiments(study.left_out)
    specs = {name: dict(specs[name], arms=list(dict.fromkeys(run.arm for run in runs))) for name, runs in plan.items()}
    return write_report(plan, specs, (args.report_dir or study.out).resolve(), table_metrics(study),
                        generator='reproduce_real.py')


if __name__ == '__main__':
    main()
