"""Opening an export runs no code (issue 14): a ``zerovl_model.json`` that names anything but zerovl's
registered types, asks for remote code or names outside weights is refused, with the key path, before
anything in it is imported or built; through ``ZeroVLInferencer.from_exported`` and ``tools/infer.py``."""
import json
import os.path as osp
import shutil
import tempfile

import cv2
import numpy as np
import pytest
import torch

from zerovl.apis import ExportError, ZeroVLInferencer, export_model
from zerovl.registry import MODELS, TRANSFORMS
from zerovl.testing import load_script, tiny_demo_config
from zerovl.utils import register_all_modules
from zerovl.utils.registered_types import UnregisteredTypeError, check_registered_types


@pytest.fixture(scope='module')
def export_dir(synthetic_root):
    """A real export of the tiny demo model (random weights: only opening it matters here)."""
    register_all_modules()
    work_dir = tempfile.mkdtemp(prefix='zv')
    cfg = tiny_demo_config(synthetic_root, work_dir)
    checkpoint = osp.join(work_dir, 'epoch_1.pth')
    torch.save(dict(state_dict=MODELS.build(cfg.model).state_dict()), checkpoint)
    export_model(cfg, checkpoint, osp.join(work_dir, 'export'))
    cv2.imwrite(osp.join(work_dir, 'image.png'), np.full((64, 64, 3), 200, dtype=np.uint8))
    yield work_dir
    shutil.rmtree(work_dir, ignore_errors=True)


def tampered(work_dir, tmp_path, edit):
    """A copy of the export whose zerovl_model.json went through ``edit(manifest, marker_file)``."""
    folder = str(tmp_path / 'tampered')
    shutil.copytree(osp.join(work_dir, 'export'), folder)
    marker = str(tmp_path / 'ran')
    path = osp.join(folder, 'zerovl_model.json')
    manifest = json.load(open(path))
    edit(manifest, marker)
    json.dump(manifest, open(path, 'w'))
    return folder, marker


def system_step(manifest, marker):
    manifest['test_pipeline'].insert(1, {'type': 'os.system', 'command': f'touch {marker}'})


def system_model(manifest, marker):
    manifest['model'] = {'type': 'os.system', 'command': f'touch {marker}'}
    manifest['text_config'] = None  # nothing to resolve before the build: the command would run


def system_tower(manifest, marker):
    manifest['model']['image_tower'] = {'type': 'os.system', 'command': f'touch {marker}'}


def root_only_step(manifest, marker):  # registered in MMEngine's root registry only, not in zerovl's
    manifest['test_pipeline'].insert(1, {'type': 'Compose', 'transforms': []})


def remote_code(manifest, marker):
    manifest['model']['text_tower']['config'] = {'trust_remote_code': True}


def outside_weights(manifest, marker):
    manifest['model']['image_tower']['checkpoint'] = '/tmp/weights.pth'


REFUSALS = [
    (system_step, r"test_pipeline\.1\.type='os\.system' is not a registered zerovl transform type"),
    (system_model, r"model\.type='os\.system' is not a registered zerovl model type"),
    (system_tower, r"model\.image_tower\.type='os\.system' is not a registered zerovl model type"),
    (root_only_step, r"test_pipeline\.1\.type='Compose' is not a registered zerovl transform type"),
    (remote_code, r'model\.text_tower\.config\.trust_remote_code=True would run Python code'),
    (outside_weights, r"model\.image_tower\.checkpoint='/tmp/weights\.pth' would load weights from outside"),
]


@pytest.mark.parametrize('edit,message', REFUSALS, ids=[edit.__name__ for edit, _ in REFUSALS])
def test_from_exported_refuses_before_building(export_dir, tmp_path, edit, message):
    folder, marker = tampered(export_dir, tmp_path, edit)
    with pytest.raises(ExportError, match=r'zerovl_model\.json: ' + message):
        ZeroVLInferencer.from_exported(folder)
    assert not osp.exists(marker)


def test_infer_tool_refuses_an_export_that_would_run_a_command(export_dir, tmp_path, capsys):
    folder, marker = tampered(export_dir, tmp_path, system_step)
    argv = [folder, '--images', osp.join(export_dir, 'image.png'), '--texts', 'a red circle']
    assert load_script('tools/infer.py').main(argv) == 1
    assert "test_pipeline.1.type='os.system'" in capsys.readouterr().err
    assert not osp.exists(marker)
    # The untampered export opens and ranks.
    assert load_script('tools/infer.py').main([osp.join(export_dir, 'export')] + argv[1:]) == 0


def test_callables_and_scoped_names_are_refused_too():
    pipeline = [dict(type='LoadImageFromFile'), dict(type='CenterCrop', size=8)]
    check_registered_types(pipeline, TRANSFORMS, 'cfg.json', 'pipeline')  # registered names pass
    for bad in (print, 'zerovl.CenterCrop', 'builtins.exec', dict(type='CenterCrop')):
        with pytest.raises(UnregisteredTypeError, match=r"cfg\.json: pipeline\.1\.type="):
            check_registered_types([pipeline[0], dict(type=bad)], TRANSFORMS, 'cfg.json', 'pipeline')


def test_export_refuses_to_write_what_its_reader_would_refuse(synthetic_root, tmp_path):
    cfg = tiny_demo_config(synthetic_root, str(tmp_path))
    cfg.model.image_tower.type = 'zerovl.TimmImageTower'
    with pytest.raises(ExportError, match=r"model\.image_tower\.type='zerovl\.TimmImageTower'"):
        export_model(cfg, str(tmp_path / 'unused.pth'), str(tmp_path / 'export'))
    assert not osp.exists(tmp_path / 'export')
