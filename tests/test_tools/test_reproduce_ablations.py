"""The ablation runner's plan (commands, shared runs) and its report (claims, tables, plots) on made-up curves."""
import json

import pytest

from zerovl.testing import load_script

ablations = load_script('tools/analysis_tools/reproduce_ablations.py')
report = load_script('tools/analysis_tools/ablation_report.py')


def test_every_run_is_a_train_command_with_its_arm_seed_and_data(tmp_path):
    plan = ablations.planned_runs(['E2'], [3], tmp_path)
    coin = next(run for run in plan['E2'] if run.arm.name == 'coin flip')
    cmd = ablations.command(coin, tmp_path)
    assert cmd[1].endswith('tools/train.py') and cmd[2].endswith('configs/reproduction/e2_mixup_coin.py')
    options = cmd[cmd.index('--cfg-options') + 1:]
    assert 'randomness.seed=3' in options
    assert 'model.mixup.seed=3' in options  # mixup's own stream follows the seed too
    scarce = tmp_path / 'data' / 'scarce'
    assert f'train_dataloader.dataset.datasets.1.data_root={scarce}' in options
    assert f'val_dataloader.dataset.datasets.0.data_root={scarce}' in options
    none = next(run for run in plan['E2'] if run.arm.name == 'none')
    cmd = ablations.command(none, tmp_path)
    assert cmd[2].endswith('configs/reproduction/cpu_two_domain.py')
    assert not any(option.startswith('model.mixup') for option in cmd)


def test_every_arm_is_a_leaf_config_that_changes_only_its_ablated_keys():
    """Each arm's file resolves to its base plus the ablated setting: diffing the resolved configs shows
    exactly the keys the arm's name promises, and arms of one experiment differ from each other."""
    base = ablations.json.loads(ablations.resolved_config(ablations.CONFIGS / 'cpu_two_domain.py'))
    changed = {}
    for spec in ablations.EXPERIMENTS.values():
        for arm in spec['arms']:
            resolved = ablations.json.loads(ablations.resolved_config(ablations.config_path(arm)))
            changed[arm.config] = sorted(flat_differences(base, resolved))
    assert changed['cpu_two_domain.py'] == []
    assert changed['e1_debias.py'] == ['train_dataloader.batch_sampler.mode']
    assert changed['e2_mixup_coin.py'] == ['model.mixup']
    assert changed['e3_dga_128_in_32_no_dropout.py'] == [
        'model.dga', 'model.text_tower.config.attention_probs_dropout_prob', 'model.text_tower.config.hidden_dropout_prob']
    assert changed['e4_gather_without_grad.py'] == ['model.loss.gather_with_grad', 'train_dataloader.batch_size']
    assert changed['e5_temperature_learnable.py'] == ['model.loss.temperature.init', 'model.loss.temperature.learnable']
    assert changed['e7_debias_mixup_dga_256.py'] == [
        'model.dga', 'model.mixup', 'train_dataloader.batch_sampler.mode', 'train_dataloader.batch_size']
    configs = sorted(path.name for path in ablations.CONFIGS.glob('e*.py'))
    assert sorted(set(changed) - {'cpu_two_domain.py'}) == configs  # every arm file is used, none is missing


def flat_differences(base, other, prefix=''):
    for key in set(base) | set(other):
        left, right = base.get(key), other.get(key)
        if isinstance(left, dict) and isinstance(right, dict):
            yield from flat_differences(left, right, f'{prefix}{key}.')
        elif left != right:
            yield prefix + key


def test_gather_arms_run_on_two_processes(tmp_path):
    run = ablations.planned_runs(['E4'], [0], tmp_path)['E4'][0]
    cmd = ablations.command(run, tmp_path)
    assert cmd[:2] == ['bash', str(ablations.REPO / 'tools/dist_train.sh')] and cmd[3] == '2'


def test_identical_arms_of_different_experiments_share_one_run(tmp_path):
    plan = ablations.planned_runs(['E1', 'E5', 'E7'], [0, 1], tmp_path)
    by_name = {(name, run.arm.name, run.seed): run.work_dir for name, runs in plan.items() for run in runs}
    assert by_name[('E1', 'shuffle', 0)] == by_name[('E5', '0.02', 0)] == by_name[('E7', 'baseline (shuffle, 128)', 0)]
    assert by_name[('E1', 'debias', 1)] == by_name[('E7', '+ debias', 1)]
    assert by_name[('E1', 'debias', 0)] != by_name[('E1', 'debias', 1)]
    assert by_name[('E1', 'debias', 0)] != by_name[('E1', 'debias (look-alike)', 0)]
    runs = ablations.unique_runs(plan)
    assert len({run.work_dir for run in runs}) == len(runs) == len(set(by_name.values()))
    assert [run.seed for run in runs] == sorted(run.seed for run in runs)  # seed by seed


def fake_run(tmp_path, arm, seed, final_rsum, gap=0.5):
    work_dir = tmp_path / f'{arm.name}-{seed}'
    work_dir.mkdir()
    val = [[50, {'synth_a/rsum': final_rsum / 2, 'synth_b/rsum': final_rsum / 2, 'mean_rsum': final_rsum / 2,
                 'domain_gap/image': gap, 'domain_gap/text': gap, 'domain_probe/image_acc': 100.0}],
           [100, {'synth_a/rsum': final_rsum + 10, 'synth_b/rsum': final_rsum - 10, 'mean_rsum': final_rsum,
                  'domain_gap/image': gap, 'domain_gap/text': gap, 'domain_probe/image_acc': 100.0}]]
    (work_dir / 'curves.json').write_text(json.dumps({'loss': [[i, 5.0 - i / 50] for i in range(1, 101)], 'val': val}))
    (work_dir / 'done.json').write_text('{}')
    (work_dir / 'config.py').write_text('train_dataloader = dict(batch_size=128)\n')  # as MMEngine dumps it
    return ablations.Run(arm, seed, work_dir)


def test_claims_are_checked_per_seed_and_reported(tmp_path):
    arms = [ablations.Arm('A'), ablations.Arm('B', 'b.py'), ablations.Arm('C', 'c.py')]
    finals = {'A': [200, 210, 190], 'B': [150, 160, 185], 'C': [100, 170, 100]}
    runs = [fake_run(tmp_path, arm, seed, finals[arm.name][seed]) for arm in arms for seed in range(3)]
    spec = dict(title='made up', arms=arms, claims=[('A', 'B', 'mean_rsum'), ('B', 'C', 'mean_rsum'),
                                                     ('C', 'A', 'mean_rsum')])
    summary = report.write_report({'EX': runs}, {'EX': spec}, tmp_path / 'report')
    claims = summary['EX']['claims']
    assert claims[0]['wins'] == 3 and claims[0]['verdict'] == 'reproduced'
    assert claims[0]['mean_diff'] == pytest.approx((50 + 50 + 5) / 3)
    assert claims[1]['wins'] == 2 and claims[1]['verdict'].startswith('same direction on average')
    assert claims[2]['wins'] == 0 and claims[2]['verdict'].startswith('not reproduced')
    # Loss 5 - step/50, averaged over 10 steps, first falls below ln(128) - 1 = 3.852 at step 62.
    assert summary['EX']['arms']['A']['0']['plateau_exit'] == 62
    text = (tmp_path / 'report' / 'results.md').read_text()
    assert '| A | 3 | 210.0 ± 10.0 | 190.0 ± 10.0 | 200.0 ± 10.0 | 3.190 ± 0.000 | 62 ± 0 |' in text
    assert (tmp_path / 'report' / 'EX.png').stat().st_size > 10_000


def test_an_unfinished_arm_is_reported_as_not_run(tmp_path):
    arms = [ablations.Arm('A'), ablations.Arm('B', 'b.py')]
    runs = [fake_run(tmp_path, arms[0], 0, 100.0), ablations.Run(arms[1], 0, tmp_path / 'missing')]
    summary = report.write_report({'EX': runs}, {'EX': dict(title='t', arms=arms, claims=[('A', 'B', 'mean_rsum')])},
                                  tmp_path / 'report')
    assert summary['EX']['claims'][0]['verdict'] == 'not run'
    assert '| B | 0 | not run |' in (tmp_path / 'report' / 'results.md').read_text()


def test_curve_agreement_finds_where_two_runs_part(tmp_path):
    arms = [ablations.Arm('dga', 'dga.py'), ablations.Arm('one batch')]
    runs = [fake_run(tmp_path, arm, 0, 100.0) for arm in arms]
    curves_path = runs[0].work_dir / 'curves.json'
    curves = json.loads(curves_path.read_text())
    curves['loss'] = [[step, loss + (0.2 if step >= 30 else 1e-6)] for step, loss in curves['loss']]
    curves_path.write_text(json.dumps(curves))
    lines = report.curve_agreement(report.arm_results(runs), 'dga', 'one batch')
    assert lines[2].startswith('| 0 | 1.00e-06 | 2.00e-01 | 30 |')


def test_scheduler_counts_processes_against_the_slots(tmp_path):
    one, two = ablations.Arm('one'), ablations.Arm('two', processes=2)
    busy = [ablations.Active(ablations.Run(one, 0, tmp_path), None, None, 0.0)]
    assert ablations.can_start(ablations.Run(one, 1, tmp_path), busy, slots=2)
    assert not ablations.can_start(ablations.Run(two, 0, tmp_path), busy, slots=2)
    assert ablations.can_start(ablations.Run(two, 0, tmp_path), [], slots=1)  # wider than all slots: alone
