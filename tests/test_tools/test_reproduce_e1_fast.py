"""A fast E1 (sampling) regression: debiased vs shuffled batches, 100 steps, one seed, through the real runner.

What it asserts is the mechanism of ZeroVL's debiased sampling, which is robust from the first steps, not
the final retrieval gap, which at this length is decided by when each run leaves its initial plateau
(docs/reproduction.md). Measured over seeds 0, 1, 2 at these settings:

* mean training loss over steps 20-100: debias 4.853 / 4.854 / 4.853 (= ln 128: in a one-domain batch
  the domain cue is useless, so the model is at chance), shuffle 4.353 / 4.351 / 4.370 (the model rejects
  the other domain's negatives by the cue alone: ln of the in-domain count, 0.76 ln 97 + 0.24 ln 31 = 4.30);
* text-embedding domain gap (within- minus cross-domain cosine): debias <= 0.001, shuffle 0.037-0.073.

The bounds take half of the smallest measured difference.
"""
import json
import math
import shutil
import statistics
import tempfile
from pathlib import Path

import pytest

from zerovl.testing import load_script

ablations = load_script('tools/analysis_tools/reproduce_ablations.py')
MIN_SHORTCUT_LOSS_DROP = 0.25
MIN_TEXT_DOMAIN_GAP_DIFF = 0.015


@pytest.fixture(scope='module')
def e1_runs():
    out = Path(tempfile.mkdtemp(prefix='zve1'))  # short: MMEngine's yapf crawls on long paths
    try:
        ablations.main(['--experiments', 'E1', '--arms', 'debias', 'shuffle', '--max-iters', '100',
                        '--seeds', '0', '--out', str(out), '--jobs', '2'])
        plan = ablations.planned_runs(['E1'], [0], out, ['debias', 'shuffle'], 100)['E1']
        yield {run.arm.name: json.loads((run.work_dir / 'curves.json').read_text()) for run in plan}
    finally:
        shutil.rmtree(out, ignore_errors=True)


def plateau_loss(curves):
    return statistics.mean(loss for step, loss in curves['loss'] if 20 <= step <= 100)


def test_shuffled_batches_take_the_domain_shortcut_and_debiased_ones_cannot(e1_runs):
    debias, shuffle = plateau_loss(e1_runs['debias']), plateau_loss(e1_runs['shuffle'])
    assert debias == pytest.approx(math.log(128), abs=0.02)
    assert shuffle < debias - MIN_SHORTCUT_LOSS_DROP


def test_shuffled_batches_separate_the_domains_in_the_text_embeddings(e1_runs):
    final = {arm: curves['val'][-1][1] for arm, curves in e1_runs.items()}
    assert final['shuffle']['domain_gap/text'] > final['debias']['domain_gap/text'] + MIN_TEXT_DOMAIN_GAP_DIFF
