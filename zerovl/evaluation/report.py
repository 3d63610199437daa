"""Turns a flat metrics dict into one markdown table per metric family, one row per dataset."""
from collections import defaultdict
from typing import Dict


def format_metrics_table(metrics: Dict[str, float], digits: int = 2) -> str:
    """``{'coco/i2t_R@1': 58.1, ..., 'mean_rsum': 400.0}`` -> a markdown table with a row per dataset
    and a column per metric; keys without a dataset prefix are listed below the table."""
    rows = defaultdict(dict)
    loose = {}
    for key, value in metrics.items():
        dataset, sep, name = key.rpartition('/')
        if sep:
            rows[dataset][name] = value
        else:
            loose[key] = value
    lines = []
    if rows:
        columns = list(dict.fromkeys(name for row in rows.values() for name in row))
        lines.append('| dataset | ' + ' | '.join(columns) + ' |')
        lines.append('|---|' + '---|' * len(columns))
        for dataset, row in rows.items():
            cells = [_fmt(row.get(c), digits) for c in columns]
            lines.append(f'| {dataset} | ' + ' | '.join(cells) + ' |')
    for key, value in loose.items():
        lines.append(f'{key}: {_fmt(value, digits)}')
    return '\n'.join(lines)


def _fmt(value, digits: int) -> str:
    if value is None:
        return '-'
    return f'{value:.{digits}f}' if isinstance(value, float) else str(value)
