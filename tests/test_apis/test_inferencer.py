"""ZeroVLInferencer and tools/infer.py end to end: the demo recipe trained for a few tiny iterations, exported,
loaded from the export alone. Its embeddings must be those the model's own ``predict`` forward gives the same
test samples (the input of tools/test.py's retrieval metric), and its rankings must follow its scores."""
import json
import os.path as osp
import shutil
import tempfile

import cv2
import numpy as np
import pytest
import torch
from mmengine.runner import Runner, load_checkpoint

from zerovl.apis import ZeroVLInferencer
from zerovl.datasets import image_text_collate
from zerovl.registry import DATASETS, MODELS
from zerovl.testing import load_script, tiny_demo_config
from zerovl.utils import register_all_modules

# Pairs of both domains of the synthetic test set (8 images x 5 captions each), several per image.
SAMPLES = [0, 1, 5, 12, 40, 46, 79]


@pytest.fixture(scope='module')
def trained_export(synthetic_root):
    """(config, checkpoint, export folder) of the tiny demo recipe after one short epoch (8 iterations)."""
    register_all_modules()
    work_dir = tempfile.mkdtemp(prefix='zv')
    cfg = tiny_demo_config(synthetic_root, work_dir)
    cfg.train_cfg.val_interval = 2  # beyond the last epoch: the test below evaluates by itself
    Runner.from_cfg(cfg).train()
    checkpoint = osp.join(work_dir, 'epoch_1.pth')
    config_file = osp.join(work_dir, 'tiny.py')
    cfg.dump(config_file)
    export_dir = osp.join(work_dir, 'export')
    assert load_script('tools/model_converters/export.py').main([config_file, checkpoint, export_dir]) == 0
    yield cfg, checkpoint, export_dir
    shutil.rmtree(work_dir, ignore_errors=True)


@pytest.fixture(scope='module')
def reference(trained_export):
    """The test samples, and the trained model's predict embeddings of them."""
    cfg, checkpoint, _ = trained_export
    model = MODELS.build(cfg.model)
    load_checkpoint(model, checkpoint, map_location='cpu', strict=True, logger='silent')
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    with torch.no_grad():
        predictions = model.eval().test_step(image_text_collate([dataset[i] for i in SAMPLES]))
    infos = [dataset.get_data_info(i) for i in SAMPLES]
    return dict(paths=[info['img_path'] for info in infos], captions=[info['caption'] for info in infos],
                image_embeds=torch.stack([p['image_embed'] for p in predictions]),
                text_embeds=torch.stack([p['text_embed'] for p in predictions]))


@pytest.fixture(scope='module')
def inferencer(trained_export):
    return ZeroVLInferencer.from_exported(trained_export[2], batch_size=3)  # several batches per call


def test_embeddings_equal_the_models_predict_embeddings(inferencer, reference):
    torch.testing.assert_close(inferencer.embed_images(reference['paths']), reference['image_embeds'],
                               rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(inferencer.embed_texts(reference['captions']), reference['text_embeds'],
                               rtol=1e-5, atol=1e-6)
    # A decoded RGB array goes through the same pipeline after the loading step.
    array = cv2.cvtColor(cv2.imread(reference['paths'][0]), cv2.COLOR_BGR2RGB)
    torch.testing.assert_close(inferencer.embed_images([array]), reference['image_embeds'][:1], rtol=1e-5, atol=1e-6)


def test_rankings_follow_the_score_matrix(inferencer, reference):
    images, texts = reference['paths'][:4], reference['captions']
    similarity = reference['image_embeds'][:4] @ reference['text_embeds'].T
    full = inferencer.rank_texts(images, texts)
    torch.testing.assert_close(full.similarity, similarity, rtol=1e-5, atol=1e-6)
    assert full.indices.shape == (4, len(texts))
    for row in range(4):  # a permutation, best first, each score the similarity it names
        assert sorted(full.indices[row].tolist()) == list(range(len(texts)))
        assert torch.all(full.scores[row][:-1] >= full.scores[row][1:])
        torch.testing.assert_close(full.scores[row], full.similarity[row, full.indices[row]])
    top = inferencer.rank_texts(images, texts, top_k=3)
    assert torch.equal(top.indices, full.indices[:, :3])
    by_text = inferencer.rank_images(texts, images, top_k=2)
    torch.testing.assert_close(by_text.similarity, full.similarity.T)
    assert torch.equal(by_text.indices, torch.argsort(full.similarity.T, dim=1, descending=True, stable=True)[:, :2])


def test_bad_inputs_are_refused_clearly(inferencer, tmp_path):
    with pytest.raises(FileNotFoundError, match='nowhere.png'):
        inferencer.embed_images([str(tmp_path / 'nowhere.png')])
    with pytest.raises(ValueError, match=r'\(H, W, 3\) uint8'):
        inferencer.embed_images([np.zeros((8, 8, 3), dtype=np.float32)])
    with pytest.raises(TypeError, match='file path'):
        inferencer.embed_images([42])
    with pytest.raises(ValueError, match='k must be'):
        inferencer.rank_texts([np.full((20, 30, 3), 128, dtype=np.uint8)], ['a', 'b'], top_k=3)


def test_cli_prints_rankings_and_writes_json(trained_export, reference, tmp_path, capsys):
    export_dir = trained_export[2]
    images, texts = reference['paths'][:2], reference['captions'][:3]
    out = str(tmp_path / 'result.json')
    infer = load_script('tools/infer.py')
    assert infer.main([export_dir, '--images', *images, '--texts', *texts, '--top-k', '2', '--out', out]) == 0
    printed = capsys.readouterr().out
    assert f'image {images[0]!r}:' in printed and f'text {texts[0]!r}:' in printed
    # Two matches for each of the 2 images and of the 3 texts: --top-k 2.
    assert sum(line.startswith('  #') for line in printed.splitlines()) == 2 * 2 + 3 * 2
    result = json.load(open(out))
    assert result['images'] == images and result['texts'] == texts
    similarity = torch.tensor(result['similarity'])
    torch.testing.assert_close(similarity, reference['image_embeds'][:2] @ reference['text_embeds'][:3].T,
                               rtol=1e-5, atol=1e-6)
    for row, entry in enumerate(result['image_to_text']):
        assert [m['index'] for m in entry['matches']] == similarity[row].argsort(descending=True)[:2].tolist()
        assert [m['label'] for m in entry['matches']] == [texts[m['index']] for m in entry['matches']]
    for column, entry in enumerate(result['text_to_image']):
        assert len(entry['matches']) == 2  # --top-k capped at the two images
        assert entry['matches'][0]['index'] == int(similarity[:, column].argmax())
    with pytest.raises(SystemExit):
        infer.main([export_dir, '--images', str(tmp_path / 'missing.png'), '--texts', 'a'])
    assert infer.main([str(tmp_path), '--images', images[0], '--texts', 'a']) == 1
