"""Plot the training curves of any work dir: loss, learning rate, temperature and validation metrics.

Reads what every run logs through MMEngine's LocalVisBackend ({work_dir}/{timestamp}/vis_data/scalars.json;
a resumed run's folders are joined in order) and draws one panel per quantity into a PNG, whose path it
prints. The same scalars are in TensorBoard: tensorboard --logdir WORK_DIR.
"""
import argparse
import os.path as osp
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from zerovl.visualization.training_scalars import read_scalars  # noqa: E402

EXAMPLES = """examples:
  # loss, lr, temperature and every */rsum and mean_rsum, into work_dirs/zerovl_demo/curves.png
  python tools/analysis_tools/plot_curves.py work_dirs/zerovl_demo
  # chosen keys, another file
  python tools/analysis_tools/plot_curves.py work_dirs/zerovl_demo --keys loss synth_a/i2t_R@1 --out loss.png
  # which keys a run logged
  python tools/analysis_tools/plot_curves.py work_dirs/zerovl_demo --list
"""
DEFAULT_TRAIN_KEYS = ('loss', 'lr', 'temperature')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, epilog=EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('work_dir', help='a run\'s work dir (or one scalars.json)')
    parser.add_argument('--keys', nargs='+',
                        help='what to plot (default: loss, lr, temperature, and the validation rsum metrics)')
    parser.add_argument('--out', help='PNG to write (default: WORK_DIR/curves.png)')
    parser.add_argument('--list', action='store_true', help='print the logged keys and exit')
    return parser.parse_args(argv)


def default_keys(train: dict, val: dict) -> list:
    return [key for key in DEFAULT_TRAIN_KEYS if key in train] + [key for key in val if key.endswith('rsum')]


def plot(panels: list, out: str) -> None:
    """One panel per ``(key, points, is_validation)``, stacked, sharing the iteration axis."""
    import matplotlib
    matplotlib.use('Agg')  # files only: no display needed
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(len(panels), 1, figsize=(7, 2.2 * len(panels)), sharex=True, squeeze=False)
    for axis, (key, points, is_validation) in zip(axes[:, 0], panels):
        steps, values = zip(*points)
        axis.plot(steps, values, marker='o' if is_validation else None, markersize=4)
        axis.set_ylabel(key)
        axis.grid(alpha=0.3)
        axis.set_title(('validation: ' if is_validation else '') + key, fontsize=9, loc='left')
    axes[-1, 0].set_xlabel('iteration')
    figure.tight_layout()
    figure.savefig(out, dpi=100)
    plt.close(figure)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        train, val = read_scalars(args.work_dir)
    except FileNotFoundError as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    if args.list:
        print('training:', ', '.join(sorted(train)) or '(none)')
        print('validation:', ', '.join(sorted(val)) or '(none)')
        return 0
    keys = args.keys or default_keys(train, val)
    unknown = [key for key in keys if key not in train and key not in val]
    if unknown:
        print(f'error: not logged in {args.work_dir}: {", ".join(unknown)}; logged: '
              f'{", ".join(sorted(train) + sorted(val))}', file=sys.stderr)
        return 1
    panels = [(key, train[key], False) if key in train else (key, val[key], True) for key in keys]
    folder = args.work_dir if osp.isdir(args.work_dir) else osp.dirname(args.work_dir)
    out = args.out or osp.join(folder, 'curves.png')
    plot(panels, out)
    print(f'{len(panels)} curves ({", ".join(keys)}) written to {osp.abspath(out)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
