"""The real-towers study's plan (commands, data per arm, the left-out source, zero-shot merge) and its
look-alike control data; no training here (make reproduce-real runs the study)."""
import csv
import json
import shlex

from mmengine.config import Config, DictAction
from PIL import Image

from zerovl.datasets import ImageTextDataset
from zerovl.datasets.converters.pooled_sources import pool_sources
from zerovl.testing import load_script

real = load_script('tools/analysis_tools/reproduce_real.py')


def study(tmp_path, left_out='openmoji', max_iters=real.MAX_ITERS):
    return real.Study(tmp_path / 'data', left_out, tmp_path / 'out', max_iters)


def merged_config(arm, options):
    """The arm's config with the run's --cfg-options applied as tools/train.py applies them."""
    cfg = Config.fromfile(str(real.config_path(arm)))
    parsed = {}
    for option in options:
        key, value = option.split('=', 1)
        parsed[key] = DictAction._parse_iterable(value)
    cfg.merge_from_dict(parsed)
    return cfg


def names_and_roots(datasets):
    return [(d['name'], d['data_root']) for d in datasets]


def test_every_arm_trains_on_its_data_and_is_evaluated_on_the_same_held_out_sets(tmp_path):
    s = study(tmp_path)
    plan = real.planned_runs(s, ['E1', 'E2'], [4])
    evaluated = set()
    for run in plan['E1'] + plan['E2']:
        cfg = merged_config(run.arm, real.run_options(s, run.arm, run.seed))
        train = names_and_roots(cfg.train_dataloader.dataset.datasets)
        root = str(s.train_root(run.arm.dataset))
        expected = ['pool_0', 'pool_1'] if run.arm.dataset == 'look_alike' else ['google', 'twitter']
        assert train == [(name, root) for name in expected], run.arm.name
        evaluated.add(tuple(names_and_roots(cfg.val_dataloader.dataset.datasets)))
        assert cfg.randomness.seed == 4
    sources = str(tmp_path / 'data' / 'emoji_sources')
    assert evaluated == {(('google', sources), ('twitter', sources), ('openmoji', sources))}
    scarce = next(run for run in plan['E2'] if run.arm.name == 'coin flip')
    options = real.run_options(s, scarce.arm, 4)
    assert f'train_dataloader.dataset.datasets.0.data_root={tmp_path / "data" / "emoji_sources_scarce"}' in options
    assert 'model.mixup.seed=4' in options  # mixup's own stream follows the seed
    assert merged_config(scarce.arm, options).model.mixup.mode == 'coin'
    none = next(run for run in plan['E2'] if run.arm.name == 'none')
    assert not any(option.startswith('model.mixup') for option in real.run_options(s, none.arm, 4))


def test_leaving_another_source_out_moves_training_evaluation_and_run_dirs(tmp_path):
    arm = real.experiments('google')['E1']['arms'][0]
    s = study(tmp_path, left_out='google')
    cfg = merged_config(arm, real.run_options(s, arm, 0))
    assert [d['name'] for d in cfg.train_dataloader.dataset.datasets] == ['twitter', 'openmoji']
    assert [d['name'] for d in cfg.val_dataloader.dataset.datasets][-1] == 'google'
    assert real.run_dir(s, arm, 0) != real.run_dir(study(tmp_path), arm, 0)
    assert ('debias', 'shuffle', 'google/rsum') in real.experiments('google')['E1']['claims']


def test_a_run_trains_tests_zero_shot_merges_and_drops_its_checkpoint(tmp_path):
    s = study(tmp_path, max_iters=3)
    runs = {run.arm.name: run for run in real.planned_runs(s, ['E4', 'E7'], [0])['E7'] + real.planned_runs(
        s, ['E4'], [0])['E4']}
    line = real.command(s, runs['+ DGA 256'])[2]
    train, zero_shot, merge, remove = [shlex.split(step) for step in line.split(' && ')]
    assert train[1].endswith('tools/train.py') and train[2].endswith('reproduction_real/e7_debias_mixup_dga_256.py')
    assert 'train_cfg.max_iters=3' in train and 'default_hooks.checkpoint.interval=3' in train
    assert zero_shot[1].endswith('tools/test.py') and zero_shot[3] == str(runs['+ DGA 256'].work_dir / 'iter_3.pth')
    assert merge[-2:] == ['--merge-zero-shot', str(runs['+ DGA 256'].work_dir)] and remove[:2] == ['rm', '-f']
    gather = shlex.split(real.command(s, runs['gather with grad'])[2].split(' && ')[0])
    assert gather[:2] == ['bash', str(real.REPO / 'tools/dist_train.sh')] and gather[3] == '2'


def test_zero_shot_accuracy_joins_the_last_validation(tmp_path):
    (tmp_path / 'curves.json').write_text(json.dumps({'loss': [[1, 4.0]], 'val': [[1, {'mean_rsum': 10.0}],
                                                                                   [2, {'mean_rsum': 20.0}]]}))
    (tmp_path / 'zero_shot.json').write_text(json.dumps({'left_out/top1': 31.0, 'left_out/top3': 60.0}))
    real.main(['--merge-zero-shot', str(tmp_path)])
    val = json.loads((tmp_path / 'curves.json').read_text())['val']
    assert val[0][1] == {'mean_rsum': 10.0} and val[1][1] == {'mean_rsum': 20.0, 'left_out/top1': 31.0,
                                                              'left_out/top3': 60.0}


def write_source(root, name, images, captions_per_image):
    (root / name / 'train').mkdir(parents=True)
    with open(root / name / 'train_anno.csv', 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['image', 'image_id', 'caption', 'caption_id'])
        for index in range(images):
            Image.new('RGB', (4, 4), (index, 0, 0)).save(root / name / 'train' / f'{index}.png')
            for k in range(captions_per_image):
                writer.writerow([f'{index}.png', index, f'{name} caption {index} {k}', index * 10 + k])


def test_look_alike_pools_keep_sizes_and_rows_and_mix_the_sources(tmp_path):
    write_source(tmp_path, 'a', 30, 2)
    write_source(tmp_path, 'b', 10, 1)
    sizes = pool_sources(str(tmp_path), ['a', 'b'], str(tmp_path / 'pooled'), seed=0)
    assert sizes == {'pool_0': 30, 'pool_1': 10}
    captions = {}
    for name in sizes:
        dataset = ImageTextDataset(data_root=str(tmp_path / 'pooled'), name=name, split='train', pipeline=[])
        captions[name] = [dataset[i]['caption'] for i in range(len(dataset))]
    every = sorted(captions['pool_0'] + captions['pool_1'])
    assert every == sorted([f'a caption {i} {k}' for i in range(30) for k in range(2)] + [f'b caption {i} 0'
                                                                                          for i in range(10)])
    # Each pool holds both styles (a pool of one source would be the real sources again).
    assert all({text[0] for text in texts} == {'a', 'b'} for texts in captions.values())
    assert (tmp_path / 'pooled' / 'pool_1' / 'train').is_dir() and any(
        path.name.startswith('a__') for path in (tmp_path / 'pooled' / 'pool_1' / 'train').iterdir())


def fake_run(tmp_path, arm, seed, rsum, gap):
    work_dir = tmp_path / f'{arm.name}-{seed}'
    work_dir.mkdir()
    metrics = {'google/rsum': rsum, 'twitter/rsum': rsum, 'openmoji/rsum': rsum / 2, 'mean_rsum': rsum,
               'left_out/top1': rsum / 10, 'domain_gap/image': gap, 'domain_gap/text': gap,
               'domain_probe/image_acc': 60.0}
    (work_dir / 'curves.json').write_text(json.dumps({'loss': [[i, 4.8] for i in range(1, 11)],
                                                      'val': [[10, metrics]]}))
    (work_dir / 'done.json').write_text('{}')
    (work_dir / 'config.py').write_text('train_dataloader = dict(batch_size=128)\n')
    return real.Run(arm, seed, work_dir)


def test_report_shows_the_left_out_source_and_gaps_of_pretrained_towers(tmp_path):
    report = load_script('tools/analysis_tools/ablation_report.py')
    spec = real.experiments('openmoji')['E1']
    arms = {arm.name: arm for arm in spec['arms']}
    plan = {'E1': [fake_run(tmp_path, arms['debias'], seed, 30.0 + seed, 0.012) for seed in (0, 1)]
            + [fake_run(tmp_path, arms['shuffle'], seed, 20.0 + 3 * seed, 0.034) for seed in (0, 1)]}
    summary = report.write_report(plan, {'E1': spec}, tmp_path / 'report', real.table_metrics(study(tmp_path)),
                                  generator='reproduce_real.py')
    text = (tmp_path / 'report' / 'results.md').read_text()
    assert 'RSUM openmoji (left out)' in text and 'zero-shot top-1 openmoji (left out)' in text
    assert ('| debias | 2 | 30.5 ± 0.7 | 30.5 ± 0.7 | 30.5 ± 0.7 | 15.2 ± 0.4 | 3.0 ± 0.1 | 0.012 ± 0.000 |'
            in text)
    claims = {(c['better'], c['metric']): c for c in summary['E1']['claims']}
    assert claims['debias', 'openmoji/rsum']['diffs'] == [5.0, 4.0]  # paired by seed: (30-20)/2, (31-23)/2
    assert claims['shuffle', 'domain_gap/image']['verdict'] == 'reproduced'
    assert '| shuffle > debias | domain_gap/image | +0.022 ± 0.000 | 2/2 | reproduced |' in text
    assert claims['shuffle', 'mean_rsum']['verdict'] == 'not run'  # no sequential arm here


def test_arms_that_resolve_to_one_config_share_a_run_and_every_leaf_changes_only_its_keys(tmp_path):
    s = study(tmp_path)
    plan = real.planned_runs(s, list(real.experiments('openmoji')), [0])
    by_name = {(name, run.arm.name): run.work_dir for name, runs in plan.items() for run in runs}
    assert by_name['E1', 'shuffle'] == by_name['E5', '0.02'] == by_name['E7', 'baseline (shuffle, 128)']
    assert by_name['E1', 'debias'] == by_name['E7', '+ debias'] != by_name['E1', 'debias (look-alike)']
    assert len(real.unique_runs(plan)) == 18
    base = Config.fromfile(str(real.BASE_CONFIG)).to_dict()
    for run in real.unique_runs(plan):
        leaf = Config.fromfile(str(real.config_path(run.arm))).to_dict()
        changed = {key for key in base if leaf.get(key) != base[key]}
        assert changed <= {'model', 'train_dataloader'}, (run.arm.config, changed)


def test_base_options_reach_every_arm_after_its_own_keys_and_get_their_own_run_dirs(tmp_path):
    args = real.parse_args(['--cfg-options', 'model.loss.temperature.init=0.05'])
    plain, warmer = study(tmp_path), real.Study(tmp_path / 'data', 'openmoji', tmp_path / 'out', real.MAX_ITERS,
                                                args.cfg_options)
    for name, runs in real.planned_runs(warmer, ['E1', 'E4', 'E5'], [0]).items():
        for run in runs:
            cfg = merged_config(run.arm, real.run_options(warmer, run.arm, 0))
            assert cfg.model.loss.temperature.init == 0.05, run.arm.name  # E5's own constants included
            assert real.run_dir(warmer, run.arm, 0) != real.run_dir(plain, run.arm, 0)
    gather = real.experiments('openmoji')['E4']['arms'][1]
    assert merged_config(gather, real.run_options(warmer, gather, 0)).model.loss.gather_with_grad is False
