"""zerovl.create_model and list_models, ZeroVLInferencer.create and tools/infer.py without an export.

Round trips: a config + checkpoint and the export written from them must give the embeddings the model's own
``predict`` forward gives the test samples (the input of tools/test.py's metric), whatever the image is given
as (path, array, PIL image) and however the model was reached (config file, export folder, inferencer)."""
import glob
import json
import os.path as osp
import shutil
import tempfile

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open

import zerovl
from zerovl.apis import ExportError, ZeroVLInferencer, export_model
from zerovl.apis.model_names import model_config_path
from zerovl.datasets import image_text_collate
from zerovl.registry import DATASETS
from zerovl.testing import load_script
from zerovl.testing.tiny_config import dump_tiny_demo_checkpoint

SAMPLES = [0, 3, 9, 14]
CLOSE = dict(rtol=1e-5, atol=1e-6)


@pytest.fixture(scope='module')
def checkpoint(synthetic_root):
    """(config file, config, checkpoint, export folder) of the tiny demo model with seeded random weights."""
    work_dir = tempfile.mkdtemp(prefix='zv')
    config_file, cfg, path = dump_tiny_demo_checkpoint(synthetic_root, work_dir, seed=3)
    export_dir = osp.join(work_dir, 'export')
    export_model(cfg, path, export_dir)
    yield config_file, cfg, path, export_dir
    shutil.rmtree(work_dir, ignore_errors=True)


@pytest.fixture(scope='module')
def reference(checkpoint):
    """The test samples and the embeddings the model's predict forward gives them (as in tools/test.py)."""
    config_file, cfg, path, _ = checkpoint
    model, _, _ = zerovl.create_model(config_file, path)
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    with torch.no_grad():
        predictions = model.test_step(image_text_collate([dataset[i] for i in SAMPLES]))
    infos = [dataset.get_data_info(i) for i in SAMPLES]
    return dict(paths=[info['img_path'] for info in infos], captions=[info['caption'] for info in infos],
                image_embeds=torch.stack([p['image_embed'] for p in predictions]),
                text_embeds=torch.stack([p['text_embed'] for p in predictions]))


def embed_with(created, images, texts):
    model, preprocess, tokenizer = created
    with torch.no_grad():
        return (model.encode_image(torch.stack([preprocess(image) for image in images])),
                model.encode_text(**tokenizer(texts)))


def test_config_and_checkpoint_round_trip(checkpoint, reference):
    config_file, _, path, _ = checkpoint
    model, preprocess, tokenizer = created = zerovl.create_model(config_file, path)
    assert not model.training and model.mixup is None and model.dga is None  # built for inference
    saved = torch.load(path, weights_only=True)['state_dict']
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, saved[key], rtol=0, atol=0)
    image_embeds, text_embeds = embed_with(created, reference['paths'], reference['captions'])
    torch.testing.assert_close(image_embeds, reference['image_embeds'], **CLOSE)
    torch.testing.assert_close(text_embeds, reference['text_embeds'], **CLOSE)
    assert tokenizer('a red circle')['input_ids'].shape == (1, 25)
    # The export's safetensors weights serve as the config's checkpoint too.
    from_safetensors, _, _ = zerovl.create_model(config_file, osp.join(checkpoint[3], 'model.safetensors'))
    for key, value in from_safetensors.state_dict().items():
        torch.testing.assert_close(value, model.state_dict()[key], rtol=0, atol=0)
    # Negative control: another seed's weights give other embeddings.
    other, _, _ = zerovl.create_model(config_file)  # no checkpoint: the config's (random) initialisation
    with torch.no_grad():
        assert not torch.allclose(other.encode_image(preprocess(reference['paths'][0])[None]),
                                  reference['image_embeds'][:1], atol=1e-3)


def test_export_round_trip_and_every_image_form(checkpoint, reference):
    export_dir = checkpoint[3]
    created = zerovl.create_model(export_dir)
    path = reference['paths'][0]
    pil = Image.open(path)
    array = np.asarray(pil.convert('RGB'))
    forms = [path, array, pil, pil.convert('RGBA')]
    image_embeds, text_embeds = embed_with(created, forms, reference['captions'])
    for row in image_embeds:  # a path, its decoded array, the PIL image and an RGBA copy: one embedding
        torch.testing.assert_close(row, reference['image_embeds'][0], **CLOSE)
    torch.testing.assert_close(text_embeds, reference['text_embeds'], **CLOSE)


def test_inferencer_from_a_config_takes_pil_images(checkpoint, reference):
    config_file, _, path, _ = checkpoint
    inferencer = ZeroVLInferencer.create(config_file, path, batch_size=3)
    images = [Image.open(p) for p in reference['paths']]
    torch.testing.assert_close(inferencer.embed_images(images), reference['image_embeds'], **CLOSE)
    torch.testing.assert_close(inferencer.embed_texts(reference['captions']), reference['text_embeds'], **CLOSE)
    with pytest.raises(TypeError, match='PIL image'):
        inferencer.embed_images([42])


def test_names_and_misuse_are_explained(checkpoint):
    names = zerovl.list_models()
    assert {'zerovl_demo', 'zerovl_14m', 'zerovl_emoji_lite0_minilm', 'zerovl_coco_ft'} <= set(names)
    assert model_config_path('zerovl_demo').endswith(osp.join('configs', 'zerovl', 'zerovl_demo.py'))
    # Evaluation configs and ablation variants are recipes run by tools, not models of their own.
    ablations = [osp.basename(path)[:-3] for path in glob.glob('configs/zerovl/ablations/*.py')]
    assert ablations and 'zerovl_demo_synthetic' not in names and not set(ablations) & set(names)
    config_file, _, path, export_dir = checkpoint
    with pytest.raises(KeyError, match="no model config named 'zerovl_dmeo'.*zerovl_demo"):
        zerovl.create_model('zerovl_dmeo')
    with pytest.raises(ExportError, match='takes no checkpoint'):
        zerovl.create_model(export_dir, path)
    with pytest.raises(ExportError, match='not a zerovl export'):
        zerovl.create_model(osp.dirname(export_dir) + '/..')
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        zerovl.create_model(config_file, osp.join(osp.dirname(path), 'missing.pth'))


def test_infer_embeds_one_side_from_files_and_saves(checkpoint, reference, tmp_path, capsys):
    config_file, _, path, export_dir = checkpoint
    infer = load_script('tools/infer.py')
    folder = tmp_path / 'images'
    folder.mkdir()
    for index, source in enumerate(reference['paths']):
        shutil.copy(source, folder / f'{index}.png')
    # Images alone, from a folder (sorted by name), config + checkpoint, saved as .npy.
    npy = str(tmp_path / 'images.npy')
    assert infer.main([config_file, '--checkpoint', path, '--images', str(folder), '--save-embeddings', npy]) == 0
    torch.testing.assert_close(torch.from_numpy(np.load(npy)), reference['image_embeds'], **CLOSE)
    # Texts alone, from a file (blank lines skipped), an export, saved as safetensors with the texts.
    text_file = tmp_path / 'captions.txt'
    text_file.write_text('\n'.join(reference['captions'][:2]) + '\n\n' + reference['captions'][2] + '\n')
    out = str(tmp_path / 'texts.safetensors')
    assert infer.main([export_dir, '--text-file', str(text_file), '--save-embeddings', out]) == 0
    with safe_open(out, 'pt') as f:
        assert list(f.keys()) == ['text_embeds']
        assert json.loads(f.metadata()['texts']) == reference['captions'][:3]
        torch.testing.assert_close(f.get_tensor('text_embeds'), reference['text_embeds'][:3], **CLOSE)
    # Both sides with .npy: two files, and the rankings printed.
    both = str(tmp_path / 'both.npy')
    image_list = tmp_path / 'list.txt'
    image_list.write_text('\n'.join(reference['paths'][:2]))
    assert infer.main([export_dir, '--image-list', str(image_list), '--texts', 'a', 'b',
                       '--save-embeddings', both]) == 0
    torch.testing.assert_close(torch.from_numpy(np.load(str(tmp_path / 'both_images.npy'))),
                               reference['image_embeds'][:2], **CLOSE)
    assert np.load(str(tmp_path / 'both_texts.npy')).shape == (2, 128)
    printed = capsys.readouterr().out
    assert '2 image embeddings of dimension 128' in printed and f"image {reference['paths'][0]!r}:" in printed
    for bad in ([export_dir], [export_dir, '--texts', 'a', '--out', 'x.json'],
                [export_dir, '--texts', 'a', '--save-embeddings', 'x.pt'],
                [export_dir, '--images', str(tmp_path / 'empty_or_missing')]):
        with pytest.raises(SystemExit):
            infer.main(bad)
