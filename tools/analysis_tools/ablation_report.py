"""Tables, claim checks and plots from the runs of reproduce_ablations.py.

Each run left ``curves.json`` (TrainingCurvesHook): the loss of every step and the metrics of every
validation. An arm's result is the mean ± sample standard deviation over its seeds of the final validation;
a claim "A beats B on M" is checked on the per-seed paired differences (same seed = same initialisation
and, where the arms allow it, the same batches).

Run on its own, it reports the runs already on disk (reproduce_ablations.py --report-only).
"""
import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np

DOMAINS = ('synth_a', 'synth_b')
TABLE_METRICS = [('synth_a/rsum', 'RSUM synth_a'), ('synth_b/rsum', 'RSUM synth_b'), ('mean_rsum', 'mean RSUM')]
GAP_METRICS = [('domain_gap/image', 'domain gap (image)'), ('domain_gap/text', 'domain gap (text)'),
               ('domain_probe/image_acc', 'domain probe acc. (image)')]


def load_curves(work_dir: Path) -> dict:
    return json.loads((Path(work_dir) / 'curves.json').read_text())


def global_batch(run) -> int:
    """Pairs per optimiser step, from the config the run dumped into its work dir."""
    from mmengine.config import Config
    dumped = next(Path(run.work_dir).glob('*.py'))
    return int(Config.fromfile(str(dumped)).train_dataloader.batch_size) * run.arm.processes


def plateau_exit(curves: dict, batch: int, window: int = 10):
    """First step at which the loss (moving average over ``window`` steps) is 1 nat below chance, ln(batch):
    where a run starts telling pairs apart by content. Shuffled batches reach 0.5 nat below chance by the
    domain cue alone, so the threshold is past that shortcut. None if the run never gets there."""
    steps = np.array([step for step, _ in curves['loss']])
    smooth = moving_average(np.array([loss for _, loss in curves['loss']]), window)
    below = np.nonzero(smooth < np.log(batch) - 1.0)[0]
    return int(steps[below[0] + window - 1]) if len(below) else None


def final_metrics(curves: dict) -> Dict[str, float]:
    metrics = dict(curves['val'][-1][1])
    metrics['final_loss'] = float(np.mean([loss for _, loss in curves['loss'][-20:]]))
    return metrics


def mean_std(values: Sequence[float], digits: int = 1) -> str:
    if len(values) == 1:
        return f'{values[0]:.{digits}f}'
    return f'{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}'


def arm_results(runs) -> Dict[str, Dict[int, dict]]:
    """arm name -> seed -> curves (with the run's ``plateau_exit`` step added), for the finished runs."""
    results: Dict[str, Dict[int, dict]] = {}
    for run in runs:
        if (Path(run.work_dir) / 'done.json').is_file():
            curves = load_curves(run.work_dir)
            curves['plateau_exit'] = plateau_exit(curves, global_batch(run))
            results.setdefault(run.arm.name, {})[run.seed] = curves
    return results


def exit_cell(by_seed: Dict[int, dict]) -> str:
    exits = [curves['plateau_exit'] for curves in by_seed.values()]
    reached = [step for step in exits if step is not None]
    cell = mean_std(reached, digits=0) if reached else 'never'
    return cell if len(reached) == len(exits) else f'{cell} ({len(exits) - len(reached)} never)'


def arm_table(arms, results, with_gap: bool, table_metrics=TABLE_METRICS) -> List[str]:
    columns = list(table_metrics) + (GAP_METRICS if with_gap else []) + [('final_loss', 'final loss')]
    lines = ['| arm | seeds | ' + ' | '.join(label for _, label in columns) + ' | leaves plateau at step |',
             '|---|---|' + '---|' * (len(columns) + 1)]
    for arm in arms:
        by_seed = results.get(arm.name, {})
        if not by_seed:
            lines.append(f'| {arm.name} | 0 |' + ' not run |' * (len(columns) + 1))
            continue
        finals = [final_metrics(curves) for curves in by_seed.values()]
        cells = []
        for key, _ in columns:
            values = [f[key] for f in finals if key in f]
            # Domain gaps of pretrained towers are a few hundredths: one decimal would show 0.0 for all.
            cells.append(mean_std(values, digits=3 if key == 'final_loss' or key.startswith('domain_gap/') else 1))
        lines.append(f'| {arm.name} | {len(finals)} | ' + ' | '.join(cells) + f' | {exit_cell(by_seed)} |')
    return lines


def check_claim(results, better: str, worse: str, metric: str) -> dict:
    """Paired by seed: the differences ``better - worse`` of the final ``metric``."""
    seeds = sorted(set(results.get(better, {})) & set(results.get(worse, {})))
    diffs = [final_metrics(results[better][s])[metric] - final_metrics(results[worse][s])[metric] for s in seeds]
    if not diffs:
        return dict(better=better, worse=worse, metric=metric, seeds=0, verdict='not run')
    holds = sum(d > 0 for d in diffs)
    mean = statistics.mean(diffs)
    if holds == len(diffs):
        verdict = 'reproduced'
    elif mean > 0:
        verdict = f'same direction on average, not on every seed ({holds}/{len(diffs)})'
    else:
        verdict = f'not reproduced ({holds}/{len(diffs)} seeds)'
    return dict(better=better, worse=worse, metric=metric, seeds=len(diffs), mean_diff=mean,
                std_diff=statistics.stdev(diffs) if len(diffs) > 1 else 0.0, wins=holds, diffs=diffs,
                verdict=verdict)


def claim_table(claims: List[dict]) -> List[str]:
    lines = ['| claim | metric | difference (mean ± std over seeds) | seeds where it holds | verdict |',
             '|---|---|---|---|---|']
    for c in claims:
        if not c['seeds']:
            lines.append(f"| {c['better']} > {c['worse']} | {c['metric']} | – | 0 | not run |")
            continue
        digits = 3 if c['metric'].startswith('domain_gap/') else 1
        difference = f"{c['mean_diff']:+.{digits}f} ± {c['std_diff']:.{digits}f}"
        lines.append(f"| {c['better']} > {c['worse']} | {c['metric']} | {difference} "
                     f"| {c['wins']}/{c['seeds']} | {c['verdict']} |")
    return lines


def curve_agreement(results, first: str, second: str, tolerance: float = 0.05) -> List[str]:
    """Per seed: how long two arms' loss curves stay together (|difference| <= ``tolerance``)."""
    lines = [f'| {first} vs {second}: seed | loss difference at step 1 | largest difference, steps 1-50 '
             f'| first step apart by > {tolerance} |', '|---|---|---|---|']
    for seed in sorted(set(results.get(first, {})) & set(results.get(second, {}))):
        a = np.array([loss for _, loss in results[first][seed]['loss']])
        b = np.array([loss for _, loss in results[second][seed]['loss']])
        diff = np.abs(a - b)
        apart = np.nonzero(diff > tolerance)[0]
        lines.append(f'| {seed} | {diff[0]:.2e} | {diff[:50].max():.2e} | '
                     f'{apart[0] + 1 if len(apart) else "never"} |')
    return lines


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    if len(values) < window:
        return values
    kernel = np.ones(window) / window
    return np.convolve(values, kernel, mode='valid')


def plot_experiment(name: str, spec: dict, results, path: Path, rsum_label: str = 'mean RSUM') -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, (loss_ax, rsum_ax) = plt.subplots(1, 2, figsize=(12, 4.2))
    for index, arm in enumerate(spec['arms']):
        by_seed = results.get(arm.name)
        if not by_seed:
            continue
        style = dict(color=f'C{index % 10}', linestyle='--' if 'look-alike' in arm.name else '-')
        losses = np.array([[loss for _, loss in curves['loss']] for curves in by_seed.values()])
        steps = np.array([step for step, _ in next(iter(by_seed.values()))['loss']])
        window = max(1, len(steps) // 30)
        loss_ax.plot(steps[window - 1:], moving_average(losses.mean(0), window), label=arm.name, **style)
        val_steps = [step for step, _ in next(iter(by_seed.values()))['val']]
        rsums = np.array([[metrics['mean_rsum'] for _, metrics in curves['val']] for curves in by_seed.values()])
        mean, std = rsums.mean(0), rsums.std(0, ddof=1) if len(rsums) > 1 else np.zeros(rsums.shape[1])
        rsum_ax.plot(val_steps, mean, marker='o', label=arm.name, **style)
        rsum_ax.fill_between(val_steps, mean - std, mean + std, alpha=0.15, color=style['color'])
    loss_ax.set(xlabel='optimiser step', ylabel='training loss (moving average, mean over seeds)', title=f'{name}: loss')
    rsum_ax.set(xlabel='optimiser step', ylabel=f'held-out {rsum_label}',
                title=f'{name}: retrieval (mean ± std over seeds)')
    for ax in (loss_ax, rsum_ax):
        ax.grid(alpha=0.3)
    rsum_ax.legend(fontsize=8)
    fig.suptitle(spec['title'], fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write_report(plan: Dict[str, list], experiments: Dict[str, dict], out: Path, table_metrics=TABLE_METRICS,
                 generator: str = 'reproduce_ablations.py') -> dict:
    """Writes ``out/results.md``, ``out/results.json`` and ``out/<experiment>.png``; returns the claims.
    ``table_metrics`` (key, label) pairs are the table's columns before the domain-gap ones."""
    out.mkdir(parents=True, exist_ok=True)
    lines, summary = [f'# Ablation results (generated by tools/analysis_tools/{generator})', ''], {}
    for name, spec in experiments.items():
        results = arm_results(plan[name])
        claims = [check_claim(results, *claim) for claim in spec['claims']]
        summary[name] = dict(title=spec['title'], claims=claims, arms={
            arm: {str(seed): dict(final_metrics(curves), plateau_exit=curves['plateau_exit'])
                  for seed, curves in by_seed.items()}
            for arm, by_seed in results.items()})
        lines += [f'## {name}: {spec["title"]}', '']
        lines += arm_table(spec['arms'], results, with_gap=name == 'E1', table_metrics=table_metrics) + ['']
        lines += claim_table(claims) + ['']
        for first, second in spec.get('same_curves', []):
            lines += curve_agreement(results, first, second) + ['']
        if results:
            # 'mean_rsum' averages the evaluated sets (two synthetic domains, or three real sources): its label.
            plot_experiment(name, spec, results, out / f'{name}.png', dict(table_metrics)['mean_rsum'])
            lines += [f'![{name}]({name}.png)', '']
    (out / 'results.md').write_text('\n'.join(lines) + '\n')
    (out / 'results.json').write_text(json.dumps(summary, indent=1) + '\n')
    print('\n'.join(lines))
    return summary


EXAMPLES = """examples:
  # the report of every experiment's runs under work_dirs/reproduction (results.md, results.json, PNGs)
  python tools/analysis_tools/ablation_report.py
  # one experiment, the runs of another folder, the report elsewhere
  python tools/analysis_tools/ablation_report.py --experiments E1 --out /data/repro --report-dir report/
"""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, epilog=EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--experiments', nargs='+', help='only these experiments (default: all)')
    parser.add_argument('--seeds', nargs='+', help='the seeds the runs used (default: 0 1 2)')
    parser.add_argument('--arms', nargs='+', help='only these arms (by name)')
    parser.add_argument('--max-iters', help='the schedule length the runs were made with, if not the default')
    parser.add_argument('--out', help='the folder reproduce_ablations.py trained into '
                                      '(default: work_dirs/reproduction)')
    parser.add_argument('--report-dir', help='where the report goes (default: --out)')
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    """The report of the runs on disk: reproduce_ablations.py's plan, without training."""
    args = parse_args(argv)
    forwarded = ['--report-only']
    for option, value in vars(args).items():
        if value is not None:
            flag = '--' + option.replace('_', '-')
            forwarded += [flag] + (value if isinstance(value, list) else [value])
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from reproduce_ablations import main as reproduce  # next to this file; it imports this module back
    return reproduce(forwarded)


if __name__ == '__main__':
    main()
