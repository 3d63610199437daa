"""tools/test.py runs the zero-shot demo config on a DualEncoder checkpoint, end to end (in-process, on
one thread: a second Python process would spend most of this test importing torch again).

The scores it computes are checked against an in-process evaluation of the same checkpoint, so the
test fails if the checkpoint did not load, if samples were routed to the wrong class set, or if the
metric read the predictions wrongly.
"""
import json
import os.path as osp
import pickle

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import Compose

from zerovl.datasets import SyntheticConceptDataset, image_text_collate
from zerovl.evaluation import topk_accuracy
from zerovl.registry import MODELS
from zerovl.utils import register_all_modules
from zerovl.testing import load_script as load_script_at

CONFIG = 'configs/zero_shot/zerovl_demo_synthetic.py'
DATASETS = [f'{domain}_{attribute}' for domain in ('synth_a', 'synth_b') for attribute in ('shape', 'colour')]
ZERO_SHOT_KEYS = ('classnames', 'templates', 'tokenizer', 'max_length')


@pytest.fixture
def work_dir(short_work_dir, one_thread):
    return short_work_dir


def load_test_tool():
    return load_script_at('tools/test.py', 'zerovl_test_tool')


def tiny_zero_shot_config(synthetic_root: str, work_dir: str) -> Config:
    """The demo zero-shot config on the small synthetic set, with a CPU-sized image tower."""
    cfg = Config.fromfile(CONFIG)
    cfg.model.tokenizer = osp.join(synthetic_root, 'vocab.txt')
    cfg.model.image_tower = dict(type='TimmImageTower', model_name='test_resnet', pretrained=False)
    # Batches of 6 over 4 x 8 samples: some batches mix two datasets, and so two class sets.
    cfg.test_dataloader.update(batch_size=6, num_workers=0, persistent_workers=False)
    for part in cfg.test_dataloader.dataset.datasets:
        part.data_root = synthetic_root
    cfg.test_evaluator = [cfg.test_evaluator, dict(type='DumpResults', out_file_path=osp.join(work_dir, 'p.pkl'))]
    cfg.work_dir = work_dir
    return cfg


def dual_encoder_checkpoint(cfg: Config, path: str) -> None:
    """A DualEncoder of the config's architecture, saved as training saves it (weights under state_dict)."""
    register_all_modules()
    model_cfg = {key: value for key, value in cfg.model.items() if key not in ZERO_SHOT_KEYS}
    torch.manual_seed(0)
    model = MODELS.build(dict(model_cfg, type='DualEncoder'))
    torch.save(dict(state_dict=model.state_dict()), path)


def scores_in_process(cfg: Config, checkpoint: str) -> dict:
    """{(dataset_name, sample_idx): pred_score} of the checkpoint, without the Runner."""
    model = MODELS.build(cfg.model)
    model.load_state_dict(torch.load(checkpoint, map_location='cpu', weights_only=True)['state_dict'], strict=True)
    model.eval()
    scores = {}
    for part in cfg.test_dataloader.dataset.datasets:
        part = dict(part)
        part.pop('type')
        dataset = SyntheticConceptDataset(**dict(part, pipeline=Compose(part['pipeline']).transforms))
        batch = image_text_collate([dataset[i] for i in range(len(dataset))])
        with torch.no_grad():
            for sample in model.test_step(batch):
                scores[(sample['dataset_name'], sample['sample_idx'])] = (sample['pred_score'], sample['gt_label'])
    return scores


def test_tools_test_reports_zero_shot_accuracy_of_the_checkpoint(synthetic_root, work_dir, capsys):
    cfg = tiny_zero_shot_config(synthetic_root, work_dir)
    config_file, checkpoint = osp.join(work_dir, 'zs.py'), osp.join(work_dir, 'de.pth')
    cfg.dump(config_file)
    dual_encoder_checkpoint(cfg, checkpoint)

    returned = load_test_tool().main([config_file, checkpoint, '--work-dir', work_dir,
                                 '--out', osp.join(work_dir, 'm.json'), '--no-progress'])
    output = capsys.readouterr().out
    metrics = json.load(open(osp.join(work_dir, 'm.json')))
    assert metrics == returned
    assert set(metrics) == {f'{name}/top{k}' for name in DATASETS for k in (1, 5)}
    assert all(0 <= value <= 100 for value in metrics.values())
    for name in DATASETS:
        assert f'| {name} |' in output

    # The Runner's predictions are the ones this checkpoint gives, sample by sample.
    with open(osp.join(work_dir, 'p.pkl'), 'rb') as f:
        predictions = pickle.load(f)
    expected = scores_in_process(cfg, checkpoint)
    assert len(predictions) == len(expected) == 32
    for sample in predictions:
        score, label = expected[(sample['dataset_name'], sample['sample_idx'])]
        assert sample['gt_label'] == label
        torch.testing.assert_close(sample['pred_score'], score, rtol=1e-4, atol=1e-6)
    for name in DATASETS:
        mine = [expected[key] for key in sorted(expected) if key[0] == name]
        accuracy = topk_accuracy(torch.stack([s for s, _ in mine]), torch.tensor([y for _, y in mine]))
        assert metrics[f'{name}/top1'] == pytest.approx(accuracy['top1'])
        assert metrics[f'{name}/top5'] == pytest.approx(accuracy['top5'])
