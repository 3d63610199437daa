"""The README's numbers are measured somewhere it names: every measured quantity of its "Why zerovl" table
is one of docs/benchmarks.md's, and the demo's table says on which machine and when it was measured."""
import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
QUANTITY = re.compile(r'\d[\d,.]*\s?(?:MiB|GiB|×|s\b|min\b)')


def section(text: str, heading: str) -> str:
    start = text.index(f'## {heading}\n')
    end = text.find('\n## ', start + 1)
    return text[start:end if end > 0 else None]


def normalise(text: str) -> str:
    """1,619 MiB == 1619 MiB, 1.04× == 1.04x, one space."""
    return re.sub(r'\s+', ' ', text.replace(',', '').replace('×', 'x'))


def test_why_table_quantities_come_from_the_benchmarks_page():
    table = section((REPO_ROOT / 'README.md').read_text(encoding='utf-8'), 'Why zerovl')
    benchmarks = normalise((REPO_ROOT / 'docs' / 'benchmarks.md').read_text(encoding='utf-8'))
    quantities = [normalise(match) for match in QUANTITY.findall(table)]
    assert len(quantities) >= 12  # the reader is not vacuous
    missing = [quantity for quantity in quantities if quantity not in benchmarks]
    assert not missing, f'README "Why zerovl" quantities not in docs/benchmarks.md: {missing}'


def test_the_quantity_reader_catches_a_number_the_benchmarks_do_not_hold():
    """The negative control: a made-up figure is reported."""
    benchmarks = normalise((REPO_ROOT / 'docs' / 'benchmarks.md').read_text(encoding='utf-8'))
    assert normalise(QUANTITY.findall('DGA: 367 MiB at 1.03× the time')[0]) not in benchmarks


def test_demo_numbers_name_machine_and_date_and_claim_no_identical_reruns_elsewhere():
    text = (REPO_ROOT / 'README.md').read_text(encoding='utf-8')
    demo = section(text, 'Quick start')
    assert 'mean_rsum: 544.00' in demo
    paragraph = demo[demo.index('Chance level'):]
    assert '2-core CPU machine' in paragraph and '2026-11-27' in paragraph and 'make demo' in paragraph
    assert 'identical' not in paragraph
