"""Summarise `make demo-real`: before/after tables from the metric files the demo's steps wrote.

    python tools/analysis_tools/real_demo_report.py work_dirs/zerovl_emoji_lite0_minilm

Reads ``{retrieval,zero_shot,linear_probe}_{before,after}.json`` in that folder (tools/test.py --out) and
``timings.json`` if present; a missing pair is reported as not run (e.g. no Fashion-MNIST on this machine),
never silently left out. Prints the summary and writes it to ``summary.md`` next to them.
"""
import argparse
import json
from pathlib import Path
from typing import Dict, List, Optional

# (file stem, what was measured, metric keys to show)
SECTIONS = [
    ('retrieval', 'held-out emoji retrieval (286 images, 376 captions)',
     ['emoji/i2t_R@1', 'emoji/i2t_R@5', 'emoji/i2t_R@10', 'emoji/t2i_R@1', 'emoji/t2i_R@5', 'emoji/t2i_R@10',
      'emoji/rsum']),
    ('zero_shot', 'zero-shot Fashion-MNIST (2,000 test images, 10 classes, top-1 / top-5 %)',
     ['fashion_mnist/top1', 'fashion_mnist/top5']),
    ('linear_probe', 'linear probe Fashion-MNIST (4,000 train / 2,000 test images, top-1 / top-5 %)',
     ['fashion_mnist/top1', 'fashion_mnist/top5']),
]
STAGES = (('before', 'before: pretrained towers (ImageNet Lite0, MiniLM), untrained heads'),
          ('after', 'after: ZeroVL fine-tuning on emoji'))


def load(path: Path) -> Optional[Dict[str, float]]:
    return json.loads(path.read_text()) if path.is_file() else None


def section_lines(work_dir: Path, stem: str, title: str, keys: List[str]) -> List[str]:
    results = {stage: load(work_dir / f'{stem}_{stage}.json') for stage, _ in STAGES}
    lines = [f'### {title}', '']
    if not any(results.values()):
        return lines + [f'not run: no {stem}_before.json / {stem}_after.json in {work_dir}', '']
    short = [key.split('/', 1)[1] for key in keys]
    lines += ['| model | ' + ' | '.join(short) + ' |', '|---|' + '---|' * len(keys)]
    for stage, label in STAGES:
        metrics = results[stage]
        cells = ['not run'] * len(keys) if metrics is None else [
            f'{metrics[key]:.1f}' if key in metrics else 'missing' for key in keys]
        lines.append(f'| {label} | ' + ' | '.join(cells) + ' |')
    return lines + ['']


def report(work_dir: Path) -> str:
    lines = [f'## make demo-real: {work_dir}', '']
    for stem, title, keys in SECTIONS:
        lines += section_lines(work_dir, stem, title, keys)
    timings = load(work_dir / 'timings.json')
    if timings:
        lines += ['### wall-clock time (s)', '', '| step | seconds |', '|---|---|']
        lines += [f'| {step} | {seconds:.0f} |' for step, seconds in timings.items()]
        lines.append('')
    picture = work_dir / 'retrieval.png'
    lines.append(f'retrieval picture: {picture}' if picture.is_file() else 'retrieval picture: not written')
    return '\n'.join(lines) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('work_dir', type=Path)
    args = parser.parse_args(argv)
    text = report(args.work_dir)
    (args.work_dir / 'summary.md').write_text(text)
    print(text)


if __name__ == '__main__':
    main()
