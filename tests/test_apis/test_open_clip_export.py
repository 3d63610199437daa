"""tools/model_converters/export_open_clip.py: stock open_clip loads the folder (``local-dir:``) and embeds the
test images and captions exactly as zerovl does, from its own preprocessing and tokenizer; what open_clip
cannot express is refused with the reason, and the load-back check catches a folder that disagrees."""
import json
import math
import shutil
import tempfile
from copy import deepcopy

import pytest
import torch
from PIL import Image

import zerovl
from zerovl.apis import ExportError
from zerovl.apis.create import LoadedModel, preprocessors
from zerovl.apis.export import inference_model_config
from zerovl.apis.open_clip_check import compare_with_open_clip
from zerovl.apis.open_clip_export import OPEN_CLIP_CONFIG, export_open_clip
from zerovl.registry import DATASETS, MODELS
from zerovl.testing import load_script
from zerovl.testing.tiny_config import dump_tiny_demo_checkpoint

open_clip = pytest.importorskip('open_clip', reason='open_clip is not installed (requirements/benchmark.txt)')
CLOSE = dict(rtol=1e-5, atol=1e-6)


@pytest.fixture(scope='module')
def tiny(synthetic_root):
    """(config file, config, checkpoint, work dir): the tiny demo model (mean pooling) with seeded weights."""
    work_dir = tempfile.mkdtemp(prefix='zv')
    config_file, cfg, checkpoint = dump_tiny_demo_checkpoint(synthetic_root, work_dir, seed=5)
    yield config_file, cfg, checkpoint, work_dir
    shutil.rmtree(work_dir, ignore_errors=True)


def loaded_variant(cfg, model_changes=None, pipeline=None, seed=0) -> LoadedModel:
    """The tiny model with config changes, random weights, as create_model would hand it to the exporter."""
    model_cfg = inference_model_config(cfg.model.to_dict())
    for key, value in (model_changes or {}).items():
        section, _, name = key.rpartition('.')
        (model_cfg[section] if section else model_cfg)[name] = value
    torch.manual_seed(seed)
    test_pipeline = pipeline or [dict(step) for step in cfg.test_dataloader.dataset.datasets[0].pipeline]
    return LoadedModel(MODELS.build(deepcopy(model_cfg)).eval(), model_cfg, test_pipeline)


def test_open_clip_loads_the_export_with_identical_embeddings(tiny, tmp_path, capsys):
    config_file, cfg, checkpoint, _ = tiny
    out = str(tmp_path / 'open_clip')
    assert load_script('tools/model_converters/export_open_clip.py').main(
        [config_file, out, '--checkpoint', checkpoint]) == 0
    assert 'loaded with open_clip' in capsys.readouterr().out

    # What an open_clip user writes, and nothing zerovl: the folder alone.
    model, _, preprocess = open_clip.create_model_and_transforms(f'local-dir:{out}')
    tokenizer = open_clip.get_tokenizer(f'local-dir:{out}')
    ours, our_preprocess, our_tokenizer = zerovl.create_model(config_file, checkpoint)
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    infos = [dataset.get_data_info(index) for index in (0, 5, 11, 17)]
    paths, captions = [info['img_path'] for info in infos], [info['caption'] for info in infos]
    with torch.no_grad():
        their_images = model.eval().encode_image(torch.stack([preprocess(Image.open(p)) for p in paths]),
                                                 normalize=True)
        their_texts = model.encode_text(tokenizer(captions), normalize=True)
        our_images = ours.encode_image(torch.stack([our_preprocess(p) for p in paths]))
        our_texts = ours.encode_text(**our_tokenizer(captions))
    torch.testing.assert_close(their_images, our_images, **CLOSE)
    torch.testing.assert_close(their_texts, our_texts, **CLOSE)
    torch.testing.assert_close(model.logit_scale, torch.tensor(math.log(1 / 0.05)))  # the demo's τ
    assert not torch.allclose(their_images[0], their_images[1], atol=1e-3)  # the images are told apart


def test_cls_pooling_and_shorter_side_crop_map_exactly(tiny, tmp_path):
    cfg = tiny[1]
    pipeline = [dict(step) for step in cfg.test_dataloader.dataset.datasets[0].pipeline]
    pipeline[1:2] = [dict(type='ResizeImage', size=48, keep_ratio=True, interpolation='bilinear'),
                     dict(type='CenterCrop', size=48)]
    loaded = loaded_variant(cfg, {'text_tower.pooling': 'cls'}, pipeline)
    config = export_open_clip(loaded, str(tmp_path))
    assert config['model_cfg']['text_cfg']['hf_pooler_type'] == 'cls_last_hidden_state_pooler'
    assert config['preprocess_cfg']['resize_mode'] == 'shortest' and config['preprocess_cfg']['size'] == 48
    agreement = compare_with_open_clip(loaded.model, *preprocessors(loaded), str(tmp_path))
    assert agreement.worst() < 1e-5 and agreement.pixels < 1e-5  # the probe picture is 61 x 83: resampled


def test_the_check_catches_a_folder_that_disagrees(tiny, tmp_path):
    loaded = loaded_variant(tiny[1])
    export_open_clip(loaded, str(tmp_path))
    path = tmp_path / OPEN_CLIP_CONFIG
    config = json.loads(path.read_text())
    config['model_cfg']['text_cfg']['hf_pooler_type'] = 'cls_last_hidden_state_pooler'  # we pool by mean
    path.write_text(json.dumps(config))
    with pytest.raises(ExportError, match='embeds differently'):
        compare_with_open_clip(loaded.model, *preprocessors(loaded), str(tmp_path))


@pytest.mark.parametrize('built, read, step, message', [
    ({'projection': dict(type='MLPProjection')}, {}, None, 'MLPProjection'),
    ({'image_tower.pre_logits_dim': 16}, {}, None, 'pre_logits_dim'),
    # test_resnet takes no img_size, so this one is only in the config the exporter reads.
    ({}, {'img_size': 32}, None, r"keys \['img_size'\]"),
    ({}, {}, dict(type='ResizeImage', size=64, backend='cv2'), 'cv2 bicubic'),
])
def test_what_open_clip_cannot_express_is_refused(tiny, tmp_path, built, read, step, message):
    cfg = tiny[1]
    pipeline = None
    if step is not None:
        pipeline = [dict(s) for s in cfg.test_dataloader.dataset.datasets[0].pipeline]
        pipeline[1] = step
    loaded = loaded_variant(cfg, built, pipeline)
    loaded.model_cfg['image_tower'].update(read)
    out = tmp_path / 'out'
    with pytest.raises(ExportError, match=f'not exportable to open_clip: .*{message}'):
        export_open_clip(loaded, str(out))
    assert not out.exists()  # refused before anything is written


def test_zerovl_resize_then_crop_only_with_the_nearest_transform(tiny, tmp_path):
    cfg = tiny[1]
    pipeline = [dict(step) for step in cfg.test_dataloader.dataset.datasets[0].pipeline]
    pipeline[1:2] = [dict(type='ResizeImage', size=72), dict(type='CenterCrop', size=64)]  # ZeroVL's 256 -> 224
    loaded = loaded_variant(cfg, pipeline=pipeline)
    with pytest.raises(ExportError, match='nearest_preprocess'):
        export_open_clip(loaded, str(tmp_path / 'refused'))
    config = export_open_clip(loaded, str(tmp_path / 'nearest'), nearest_preprocess=True)
    assert config['preprocess_cfg']['resize_mode'] == 'squash' and config['preprocess_cfg']['size'] == 64
    assert config['zerovl']['preprocess'].startswith('nearest: open_clip squashes to 64')
    # The model is still exact (same tensors in, same embeddings out); only the pixels differ.
    agreement = compare_with_open_clip(loaded.model, *preprocessors(loaded), str(tmp_path / 'nearest'),
                                       exact_preprocess=False)
    assert agreement.image_embeds < 1e-5 and agreement.text_embeds < 1e-5 and math.isnan(agreement.pixels)
