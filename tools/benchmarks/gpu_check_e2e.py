"""ZeroVL's full recipe end to end on the visible GPUs, killed mid-epoch and resumed.

    python tools/benchmarks/gpu_check_e2e.py --work-dir work_dirs/gpu_check/e2e [--gpus 1]

The model is zerovl_14m's (ViT-B/16 + BERT-base, here at random init: nothing is downloaded) with its
pipelines (RandomResizedCrop + AutoAugment, caption augmentation), debiased sampling, coin-flip mixup,
DGA and AMP, trained through ``tools/dist_train.sh`` on the bundled synthetic set (generated if missing).
Three runs of one epoch: uninterrupted; killed by SIGKILL right after a mid-epoch checkpoint; resumed
from it with ``--resume``. The resumed iterations must repeat the uninterrupted ones (the report gives
the largest relative loss difference and whether they are bit-identical), and the resumed run ends with
the held-out retrieval validation.
"""
import argparse
import copy
import json
import os
import os.path as osp
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from mmengine.config import Config  # noqa: E402

from zerovl.testing import point_config_at  # noqa: E402

RECIPE = 'configs/zerovl/zerovl_14m.py'
SYNTHETIC = 'data/synthetic'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--work-dir', default='work_dirs/gpu_check/e2e')
    parser.add_argument('--gpus', type=int, default=1, help='processes (one per GPU)')
    parser.add_argument('--batch-size', type=int, default=256, help='per GPU')
    parser.add_argument('--sub-batch-size', type=int, default=64, help='DGA sub-batch, per GPU')
    parser.add_argument('--kill-at', type=int, default=6, help='iteration after whose checkpoint the run dies')
    parser.add_argument('--workers', type=int, default=8, help='dataloader workers per process')
    parser.add_argument('--device', default='cuda', choices=['cuda', 'cpu'], help='cpu: a smoke run')
    parser.add_argument('--tiny', action='store_true', help='small towers (CPU smoke run)')
    parser.add_argument('--pairs-per-source', type=int, help='train on the first N pairs of each source')
    parser.add_argument('--timeout', type=int, default=300, help='seconds per training run')
    parser.add_argument('--out', help='write the report as JSON here')
    return parser.parse_args(argv)


def vocabulary_size(data_root: str) -> int:
    with open(osp.join(data_root, 'vocab.txt'), encoding='utf-8') as f:
        return sum(1 for _ in f)


def recipe_config(args, work_dir: str) -> Config:
    """zerovl_14m on the synthetic set: same recipe, towers at random init, checkpoints by iteration."""
    if not osp.isfile(osp.join(SYNTHETIC, 'vocab.txt')):
        subprocess.run([sys.executable, 'tools/dataset_converters/make_synthetic.py', SYNTHETIC], cwd=REPO, check=True)
    cfg = Config.fromfile(RECIPE)
    for loader, names in (('train_dataloader', ['synth_a', 'synth_b']), ('val_dataloader', ['synth_a', 'synth_b'])):
        for dataset, name in zip(cfg[loader].dataset.datasets, names):
            dataset.name = name
        cfg[loader].dataset.datasets = cfg[loader].dataset.datasets[:len(names)]
        cfg[loader].num_workers = args.workers
        cfg[loader].persistent_workers = args.workers > 0
    if args.pairs_per_source:
        for dataset in cfg.train_dataloader.dataset.datasets:
            dataset.indices = args.pairs_per_source
    cfg.test_dataloader = cfg.val_dataloader
    point_config_at(cfg, SYNTHETIC)
    text_config = dict(model_type='bert', vocab_size=vocabulary_size(SYNTHETIC))
    image = dict(type='TimmImageTower', model_name='vit_base_patch16_224', pretrained=False)
    if args.tiny:
        image = dict(type='TimmImageTower', model_name='test_vit', pretrained=False, img_size=224)
        text_config.update(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128)
    cfg.model.image_tower = image
    cfg.model.text_tower = dict(type='HFTextTower', pretrained=False, config=text_config, pooling='cls')
    cfg.model.dga.sub_batch_size = args.sub_batch_size
    cfg.train_dataloader.batch_size = args.batch_size
    cfg.train_cfg.update(max_epochs=1, val_interval=1)
    cfg.param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=1, eta_min_ratio=0.1,
                                convert_to_iter_based=True)]
    cfg.default_hooks.checkpoint.update(by_epoch=False, interval=args.kill_at, max_keep_ckpts=2)
    cfg.default_hooks.logger.interval = 1
    cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [dict(type='TrainingCurvesHook')]
    cfg.randomness = dict(seed=0, deterministic=True)
    cfg.work_dir = work_dir
    return cfg


def train(config_path: str, work_dir: str, args, *extra) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHON=sys.executable, PYTHONPATH=str(REPO),
               CUBLAS_WORKSPACE_CONFIG=':4096:8')  # deterministic cuBLAS, which deterministic=True needs
    command = ['bash', 'tools/dist_train.sh', config_path, str(args.gpus), '--work-dir', work_dir, '--amp',
               '--device', args.device, *extra]
    with open(f'{work_dir}.log', 'w') as log:
        return subprocess.run(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                              timeout=args.timeout)


def curves(work_dir: str) -> dict:
    with open(osp.join(work_dir, 'curves.json')) as f:
        return json.load(f)


def compare_losses(straight: list, resumed: list, first_resumed_iter: int) -> dict:
    """Iterations after the resume point, from both runs: bit-identical or the largest relative gap."""
    expected = {int(it): loss for it, loss in straight if it > first_resumed_iter - 1}
    actual = {int(it): loss for it, loss in resumed}
    common = sorted(set(expected) & set(actual))
    gaps = [abs(actual[it] - expected[it]) / max(abs(expected[it]), 1e-12) for it in common]
    return dict(iterations=common, identical=bool(common) and all(actual[it] == expected[it] for it in common),
                max_relative_difference=max(gaps) if gaps else None,
                missing=sorted(set(expected) - set(actual)))


def main(argv=None) -> dict:
    args = parse_args(argv)
    root = osp.abspath(args.work_dir)
    os.makedirs(root, exist_ok=True)
    straight_dir, crashed_dir = osp.join(root, 'straight'), osp.join(root, 'crashed')
    config = recipe_config(args, straight_dir)
    config_path = osp.join(root, 'recipe.py')
    config.dump(config_path)
    killed = copy.deepcopy(config)  # the same recipe, plus the hook that kills it
    killed.work_dir = crashed_dir
    killed.custom_imports = dict(imports=['zerovl.testing.crash_hook'], allow_failed_imports=False)
    killed.custom_hooks.append(dict(type='KillAfterCheckpointHook', iteration=args.kill_at))
    killed_path = osp.join(root, 'recipe_killed.py')
    killed.dump(killed_path)

    report = dict(recipe=RECIPE, gpus=args.gpus, batch_per_gpu=args.batch_size, sub_batch=args.sub_batch_size,
                  kill_at=args.kill_at)
    report['straight_returncode'] = train(config_path, straight_dir, args).returncode
    report['killed_returncode'] = train(killed_path, crashed_dir, args).returncode
    report['resumed_returncode'] = train(config_path, crashed_dir, args, '--resume').returncode
    straight, resumed = curves(straight_dir), curves(crashed_dir)
    report['losses'] = compare_losses(straight['loss'], resumed['loss'], args.kill_at + 1)
    report['validation'] = resumed['val'][-1][1] if resumed['val'] else None
    report['passed'] = (report['straight_returncode'] == 0 and report['killed_returncode'] != 0
                        and report['resumed_returncode'] == 0 and not report['losses']['missing']
                        and (report['losses']['max_relative_difference'] or 0.0) <= 1e-3
                        and report['validation'] is not None)
    print(json.dumps(report, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2))
    return report


if __name__ == '__main__':
    main()
