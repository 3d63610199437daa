"""tools/visualization/visualize_retrieval.py end to end on a tiny DualEncoder and the synthetic set.

The rankings the tool draws are checked against rankings computed here by another path: the model's
``predict`` forward over the whole test set in one batch (what RetrievalMetric consumes), de-duplicated
by (dataset, image_id), and a plain stable argsort of the cosine scores.
"""
import os.path as osp
import shutil
import tempfile

import cv2
import numpy as np
import pytest
import torch
from mmengine.runner import load_checkpoint

from zerovl.datasets import image_text_collate
from zerovl.utils.tokenizer import build_tokenizer
from zerovl.registry import DATASETS, MODELS
from zerovl.testing.tiny_config import dump_tiny_demo
from zerovl.visualization import GridLayout, thumbnail
from zerovl.visualization.retrieval_grid import MATCH_COLOUR, text_cell
from zerovl.testing import load_script as load_script_at

SCRIPT = 'tools/visualization/visualize_retrieval.py'
TEXT_QUERIES = ['a red circle', 'a small blue square in the top right corner']
TOPK = 4


def load_script():
    return load_script_at(SCRIPT)


@pytest.fixture(scope='module')
def tiny_checkpoint(synthetic_root):
    """(config file, checkpoint, config): the demo recipe with a tiny image tower, randomly initialised
    with a fixed seed and saved as a plain state dict (rankings only need distinct embeddings)."""
    work_dir = tempfile.mkdtemp(prefix='zv')
    config_file, cfg, model = dump_tiny_demo(synthetic_root, work_dir)
    checkpoint = osp.join(work_dir, 'tiny.pth')
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    yield config_file, checkpoint, cfg
    shutil.rmtree(work_dir, ignore_errors=True)


def reference_embeddings(cfg, checkpoint):
    """Per distinct image (first pair, dataset order) and per caption, by the model's predict forward."""
    model = MODELS.build(cfg.model)
    load_checkpoint(model, checkpoint, map_location='cpu', strict=True, logger='silent')
    model.eval()
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    batch = image_text_collate([dataset[i] for i in range(len(dataset))])
    with torch.no_grad():
        predictions = model.test_step(batch)
    first_pair = {}
    for index, prediction in enumerate(predictions):
        first_pair.setdefault((prediction['dataset_name'], prediction['image_id']), index)
    image_embeds = torch.stack([predictions[i]['image_embed'] for i in first_pair.values()])
    text_embeds = torch.stack([prediction['text_embed'] for prediction in predictions])
    captions = [dataset.get_data_info(i)['caption'] for i in range(len(dataset))]
    return model, dataset, list(first_pair.values()), image_embeds, text_embeds, captions


def text_query_embeds(model, cfg, queries):
    tokenize_cfg = next(step for step in cfg.test_dataloader.dataset.datasets[0].pipeline
                        if step['type'] == 'Tokenize')
    tokenizer = build_tokenizer(tokenize_cfg['tokenizer'])
    encoded = tokenizer(queries, padding='max_length', truncation=True, max_length=tokenize_cfg['max_length'],
                        return_tensors='pt')
    with torch.no_grad():
        return model.encode_text(encoded['input_ids'], encoded['attention_mask'])


def expected_ranking(query_embeds, gallery_embeds, k):
    scores = (query_embeds @ gallery_embeds.T).numpy()
    order = np.argsort(-scores, axis=1, kind='stable')[:, :k]
    return order, np.take_along_axis(scores, order, axis=1)


def cell(grid, layout, row, column):
    top, left = row * layout.cell_height, column * layout.cell_width
    return grid[top:top + layout.cell_height, left:left + layout.cell_width]


def test_grid_draws_the_rankings_computed_from_embeddings(tiny_checkpoint, tmp_path, one_thread):
    config_file, checkpoint, cfg = tiny_checkpoint
    query_image = osp.join(cfg.test_dataloader.dataset.datasets[0].data_root, 'synth_a', 'valid', '000001.jpg')
    out = str(tmp_path / 'grid.png')
    argv = [config_file, checkpoint, '--topk', str(TOPK), '--out', out, '--image', query_image]
    for query in TEXT_QUERIES:
        argv += ['--query', query]
    report = load_script().main(argv)

    # The PNG: one row per query (text rows first), columns = the query + top-k.
    layout = GridLayout()
    written = cv2.cvtColor(cv2.imread(out), cv2.COLOR_BGR2RGB)
    assert written.shape == layout.grid_shape(len(TEXT_QUERIES) + 1, TOPK + 1)
    np.testing.assert_array_equal(written, report['grid'])

    model, dataset, first_pairs, image_embeds, text_embeds, captions = reference_embeddings(cfg, checkpoint)
    assert len(first_pairs) == 16 and len(captions) == 80  # 2 sources x 8 images x 5 captions

    # Text queries -> images: same order and scores, and each cell shows that image.
    order, scores = expected_ranking(text_query_embeds(model, cfg, TEXT_QUERIES), image_embeds, TOPK)
    text_results = [result for result in report['results'] if result['kind'] == 'text']
    for row, result in enumerate(text_results):
        assert result['query'] == TEXT_QUERIES[row]
        assert result['indices'] == order[row].tolist()
        np.testing.assert_allclose(result['scores'], scores[row], atol=1e-5)
        for column, image_index in enumerate(order[row], start=1):
            image = dataset[first_pairs[image_index]]['inputs']['images'].permute(1, 2, 0).numpy()
            drawn = cell(written, layout, row, column)[:layout.thumb]
            np.testing.assert_array_equal(drawn, thumbnail(image, layout))

    # The image query (a gallery image, through the same pipeline) -> captions.
    image_row = len(TEXT_QUERIES)
    order, scores = expected_ranking(image_embeds[:1], text_embeds, TOPK)
    image_result = report['results'][image_row]
    assert image_result['kind'] == 'image' and image_result['indices'] == order[0].tolist()
    np.testing.assert_allclose(image_result['scores'], scores[0], atol=1e-5)
    for column, caption_index in enumerate(order[0], start=1):
        expected_cell = text_cell(captions[caption_index], '', layout)
        np.testing.assert_array_equal(cell(written, layout, image_row, column)[:layout.thumb],
                                      expected_cell[:layout.thumb])


def test_one_source_of_the_validation_loader(tiny_checkpoint, tmp_path, one_thread):
    config_file, checkpoint, _ = tiny_checkpoint
    out = str(tmp_path / 'b.png')
    report = load_script().main([config_file, checkpoint, '--query', 'a green star', '--topk', '8',
                                 '--split-dataloader', 'val', '--dataset', 'synth_b', '--out', out])
    gallery = report['gallery']
    assert {name for name, _ in gallery.image_keys} == {'synth_b'} and len(gallery.image_keys) == 8
    assert sorted(report['results'][0]['indices']) == list(range(8))  # top-8 of 8: every image once
    assert cv2.imread(out).shape == GridLayout().grid_shape(1, 9)


def test_topk_larger_than_the_gallery_is_refused(tiny_checkpoint, tmp_path, one_thread):
    config_file, checkpoint, _ = tiny_checkpoint
    with pytest.raises(ValueError, match='--topk 9 exceeds the gallery, which has 8 images'):
        load_script().main([config_file, checkpoint, '--query', 'a dot', '--topk', '9', '--dataset', 'synth_a',
                            '--out', str(tmp_path / 'x.png')])


def test_pipeline_without_tokenize_is_a_clear_error(tiny_checkpoint, tmp_path, one_thread):
    _, checkpoint, cfg = tiny_checkpoint
    cfg = cfg.copy()
    for part in cfg.test_dataloader.dataset.datasets:
        part.pipeline = [step for step in part.pipeline if step['type'] != 'Tokenize']
    config_file = osp.join(osp.dirname(checkpoint), 'no_tokenize.py')
    cfg.dump(config_file)
    with pytest.raises(ValueError, match='the test pipeline has no Tokenize transform'):
        load_script().main([config_file, checkpoint, '--query', 'a red circle', '--out', str(tmp_path / 'x.png')])
    assert not (tmp_path / 'x.png').exists()


def test_a_query_is_required(tiny_checkpoint):
    config_file, checkpoint, _ = tiny_checkpoint
    with pytest.raises(SystemExit):
        load_script().parse_args([config_file, checkpoint])


def strip_colour(grid, layout, row, column):
    """The colour at the left end of a cell's label strip (left of its text)."""
    return tuple(cell(grid, layout, row, column)[layout.thumb + 1, 1])


def test_gallery_queries_mark_the_correct_matches(tiny_checkpoint, capsys, one_thread):
    """Correctness is checked against the dataset's own (dataset_name, image_id) of every pair; top-8 of
    the 8 synth_a images always contains a text query's image, so at least one mark must show."""
    config_file, checkpoint, cfg = tiny_checkpoint
    report = load_script().main([config_file, checkpoint, '--from-gallery', '2', '--dataset', 'synth_a',
                                 '--topk', '8', '--query', 'no caption says this'])
    gallery, grid, layout = report['gallery'], report['grid'], report['layout']
    # Written next to the checkpoint, and said so with the full path.
    assert report['out'] == osp.join(osp.dirname(osp.abspath(checkpoint)), 'retrieval_grid.png')
    assert f"written to {report['out']}" in capsys.readouterr().out
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    free, *text_results = [result for result in report['results'] if result['kind'] == 'text']
    image_results = [result for result in report['results'] if result['kind'] == 'image']
    assert free['correct'] is None and len(text_results) == 2 and len(image_results) == 2
    for row, result in enumerate([free] + text_results + image_results):
        if result['kind'] == 'text':
            right = {(info['dataset_name'], info['image_id']) for info in infos if info['caption'] == result['query']}
            expected = [gallery.image_keys[i] in right for i in result['indices']] if result['correct'] else None
        else:
            (query_key,) = {(info['dataset_name'], info['image_id']) for info in infos
                            if osp.realpath(info['img_path']) == osp.realpath(result['query'])}
            expected = [gallery.image_keys[gallery.caption_images[i]] == query_key for i in result['indices']]
        assert result['correct'] == expected
        for column, hit in enumerate(result['correct'] or [False] * 8, start=1):
            assert (strip_colour(grid, layout, row, column) == MATCH_COLOUR) == hit
    assert all(any(result['correct']) for result in text_results)


def test_a_cuda_request_without_a_gpu_is_one_line(tiny_checkpoint, monkeypatch):
    config_file, checkpoint, _ = tiny_checkpoint
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with pytest.raises(SystemExit, match=r'^error: --device=cuda, but no CUDA device is visible here'):
        load_script().main([config_file, checkpoint, '--query', 'a dot', '--device', 'cuda'])
