"""tools/model_converters/export.py: a training checkpoint (weights, optimizer state, message hub) becomes a
folder of safetensors weights and JSON that rebuilds the model without the training stack."""
import json
import os
import os.path as osp
import shutil
import tempfile

import pytest
import torch
from mmengine.config import Config
from safetensors.torch import load_file

from zerovl.apis import ExportError, load_exported
from zerovl.testing import load_script
from zerovl.testing.tiny_config import dump_tiny_demo

SCRIPT = 'tools/model_converters/export.py'


def export(argv):
    return load_script(SCRIPT).main(argv)


@pytest.fixture(scope='module')
def training_checkpoint(synthetic_root):
    """(config file, checkpoint, model): the tiny demo model saved the way a training run saves it,
    with AdamW moments and a message hub that an export must leave behind."""
    work_dir = tempfile.mkdtemp(prefix='zv')
    config_file, cfg, model = dump_tiny_demo(synthetic_root, work_dir)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    sum(param.sum() for param in model.parameters()).backward()
    optimizer.step()
    checkpoint = osp.join(work_dir, 'epoch_1.pth')
    torch.save(dict(meta=dict(epoch=1, iter=8), state_dict=model.state_dict(), optimizer=optimizer.state_dict(),
                    message_hub=dict(log_scalars={}, runtime_info=dict(epoch=1))), checkpoint)
    yield config_file, checkpoint, model.eval()
    shutil.rmtree(work_dir, ignore_errors=True)


def all_files(folder):
    return sorted(osp.relpath(osp.join(root, name), folder) for root, _, names in os.walk(folder) for name in names)


def test_export_writes_safetensors_weights_and_a_json_manifest(training_checkpoint, tmp_path):
    config_file, checkpoint, model = training_checkpoint
    out = str(tmp_path / 'export')
    assert export([config_file, checkpoint, out]) == 0
    files = all_files(out)
    assert {'model.safetensors', 'zerovl_model.json', 'tokenizer/vocab.txt', 'text_config/config.json'} <= set(files)
    assert not [name for name in files if name.endswith(('.pth', '.pt', '.pkl', '.bin', '.pickle'))]

    weights = load_file(osp.join(out, 'model.safetensors'))
    # The model's tensors, without the optimizer state and without the training-only mixup step counter.
    expected = {key: value for key, value in model.state_dict().items() if not key.startswith('mixup.')}
    assert set(weights) == set(expected) and len(expected) == len(model.state_dict()) - 1
    for key, value in expected.items():
        torch.testing.assert_close(weights[key], value, rtol=0, atol=0)

    manifest = json.load(open(osp.join(out, 'zerovl_model.json')))
    cfg = Config.fromfile(config_file)
    assert manifest['model']['type'] == 'DualEncoder'
    assert 'mixup' not in manifest['model'] and 'dga' not in manifest['model']  # training only
    assert manifest['model']['text_tower']['pretrained'] is False
    assert manifest['image_size'] == [64, 64]  # the demo's test pipeline squashes to 64 x 64
    assert manifest['normalisation']['mean'] == [127.5] * 3 and manifest['normalisation']['std'] == [127.5] * 3
    expected_pipeline = [dict(step) for step in cfg.test_dataloader.dataset.datasets[0].pipeline]
    expected_pipeline[2]['tokenizer'] = 'tokenizer/vocab.txt'  # the bundled copy
    assert manifest['test_pipeline'] == expected_pipeline
    assert manifest['tokenizer'] == dict(name_or_path='tokenizer/vocab.txt', max_length=25, bundled=True)
    with open(cfg.test_dataloader.dataset.datasets[0].pipeline[2]['tokenizer']) as original:
        assert open(osp.join(out, 'tokenizer/vocab.txt')).read() == original.read()


def test_export_loads_without_runner_or_pickle_from_anywhere(training_checkpoint, tmp_path, monkeypatch):
    config_file, checkpoint, model = training_checkpoint
    out = str(tmp_path / 'export')
    assert export([config_file, checkpoint, out]) == 0
    moved = str(tmp_path / 'elsewhere')
    shutil.move(out, moved)  # self-contained: nothing points back at the checkout or the data

    def refuse(*args, **kwargs):
        raise AssertionError('loading an export must not unpickle or start a Runner')

    monkeypatch.setattr(torch, 'load', refuse)
    monkeypatch.setattr('mmengine.runner.Runner.__init__', refuse)
    exported = load_exported(moved)
    tokenizer_steps = [step['tokenizer'] for step in exported.test_pipeline if 'tokenizer' in step]
    assert tokenizer_steps == [osp.join(moved, 'tokenizer', 'vocab.txt')]
    assert not exported.model.training
    torch.manual_seed(1)
    images = torch.randn(2, 3, 64, 64)
    input_ids, attention_mask = torch.randint(5, 100, (2, 25)), torch.ones(2, 25, dtype=torch.long)
    with torch.no_grad():
        torch.testing.assert_close(exported.model.encode_image(images), model.encode_image(images))
        torch.testing.assert_close(exported.model.encode_text(input_ids, attention_mask),
                                   model.encode_text(input_ids, attention_mask))


def test_export_refuses_bad_inputs_by_name(training_checkpoint, tmp_path, capsys):
    config_file, checkpoint, model = training_checkpoint
    state = model.state_dict()
    state.pop('text_projection.weight')
    incomplete = str(tmp_path / 'incomplete.pth')
    torch.save(dict(state_dict=state), incomplete)
    assert export([config_file, incomplete, str(tmp_path / 'a')]) == 1
    assert 'text_projection.weight' in capsys.readouterr().err
    assert not osp.exists(tmp_path / 'a' / 'zerovl_model.json')

    assert export([config_file, str(tmp_path / 'absent.pth'), str(tmp_path / 'b')]) == 1
    assert 'absent.pth' in capsys.readouterr().err

    not_dual = [config_file, checkpoint, str(tmp_path / 'c'), '--cfg-options', 'model.type=LinearProbeClassifier']
    assert export(not_dual) == 1
    assert 'LinearProbeClassifier' in capsys.readouterr().err

    with pytest.raises(ExportError, match='zerovl_model.json'):
        load_exported(str(tmp_path))
