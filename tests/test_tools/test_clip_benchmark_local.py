"""tools/analysis_tools/clip_benchmark_local.py: clip_benchmark's own loader and metrics, offline, on a zerovl
model exported for open_clip, give what zerovl's own evaluators give on the same local data: the zero-shot
classifier's class embeddings and top-1 (ZeroShotClassifier + topk_accuracy / ClassificationAccuracy, as
tools/test.py scores it; plain templates and zerovl's synonym ensembles) and the retrieval recalls
(retrieval_metrics, RetrievalMetric's computation)."""
import csv
import json
import os.path as osp
import shutil
import tempfile
from collections import OrderedDict

import pytest
import torch

pytest.importorskip('clip_benchmark', reason='clip_benchmark is not installed (requirements/benchmark.txt)')
pytest.importorskip('sklearn', reason='scikit-learn, which clip_benchmark scores with, is not installed')

from clip_benchmark.metrics.zeroshot_classification import zero_shot_classifier  # noqa: E402
from clip_benchmark.models import load_clip  # noqa: E402

from zerovl.apis import ZeroVLInferencer  # noqa: E402
from zerovl.apis.create import checkpoint_weights  # noqa: E402
from zerovl.apis.export import inference_model_config  # noqa: E402
from zerovl.apis.preprocess import ImagePreprocess  # noqa: E402
from zerovl.evaluation.accuracy import ClassificationAccuracy, topk_accuracy  # noqa: E402
from zerovl.evaluation.retrieval import retrieval_metrics  # noqa: E402
from zerovl.models.zero_shot_prompts import resolve_classnames  # noqa: E402
from zerovl.registry import MODELS  # noqa: E402
from zerovl.testing import load_script  # noqa: E402
from zerovl.testing.tiny_config import dump_tiny_demo_checkpoint  # noqa: E402

SCRIPT = 'tools/analysis_tools/clip_benchmark_local.py'
# Words of the synthetic vocabulary only; no "a" before the slot, where zerovl would write "an" before a vowel.
TEMPLATES = ['the picture shows the {c}.', 'in the picture there is the {c}.']


@pytest.fixture(scope='module')
def exported(synthetic_root):
    """(config file, config, checkpoint, open_clip folder) of the tiny demo model with seeded random weights."""
    work_dir = tempfile.mkdtemp(prefix='zv')
    config_file, cfg, checkpoint = dump_tiny_demo_checkpoint(synthetic_root, work_dir, seed=7)
    folder = osp.join(work_dir, 'open_clip')
    assert load_script('tools/model_converters/export_open_clip.py').main(
        [config_file, folder, '--checkpoint', checkpoint, '--no-check']) == 0
    yield config_file, cfg, checkpoint, folder
    shutil.rmtree(work_dir, ignore_errors=True)


def shape_folders(synthetic_root, target) -> 'OrderedDict[str, list]':
    """The held-out images of both domains as class folders by shape (an ImageFolder); {shape: [paths]}."""
    classes = {}
    for domain in ('synth_a', 'synth_b'):
        with open(osp.join(synthetic_root, domain, 'valid_concepts.csv')) as f:
            for row in csv.DictReader(f):
                folder = target / row['shape']
                folder.mkdir(parents=True, exist_ok=True)
                copy = folder / f'{domain}_{row["image"]}'
                shutil.copy(osp.join(synthetic_root, domain, 'valid', row['image']), copy)
                classes.setdefault(row['shape'], []).append(str(copy))
    return OrderedDict(sorted((shape, sorted(paths)) for shape, paths in classes.items()))


def run(args, tmp_path, name):
    out = str(tmp_path / f'{name}.json')
    assert load_script(SCRIPT).main(args + ['--output', out, '--device', 'cpu']) == 0
    return json.load(open(out))


def test_zero_shot_classification_matches_zerovl(exported, synthetic_root, tmp_path):
    _, cfg, checkpoint, folder = exported
    classes = shape_folders(synthetic_root, tmp_path / 'shapes')
    assert len(classes) >= 3
    templates_file = tmp_path / 'templates.txt'
    templates_file.write_text('\n'.join(TEMPLATES) + '\n')
    result = run([folder, '--task', 'zeroshot_classification', '--image-folder', str(tmp_path / 'shapes'),
                  '--templates', str(templates_file), '--batch-size', '5'], tmp_path, 'classification')
    assert result['task'] == 'zeroshot_classification' and result['num_images'] == 16

    # zerovl's zero-shot classifier on the same weights, prompts and images, scored by our accuracy.
    names = list(classes)
    model_cfg = dict(inference_model_config(cfg.model.to_dict()), type='ZeroShotClassifier', classnames=names,
                     templates=[t.replace('{c}', '{}') for t in TEMPLATES],
                     tokenizer=cfg.test_dataloader.dataset.datasets[0].pipeline[2]['tokenizer'], max_length=25)
    classifier = MODELS.build(model_cfg).eval()
    classifier.load_state_dict(checkpoint_weights(checkpoint), strict=True)
    class_embeds = classifier.compute_class_embeddings(resolve_classnames(names), model_cfg['templates'])
    inferencer = ZeroVLInferencer(classifier, cfg.test_dataloader.dataset.datasets[0].pipeline)
    paths = [path for shape in names for path in classes[shape]]
    labels = torch.tensor([index for index, shape in enumerate(names) for _ in classes[shape]])
    ours = topk_accuracy(inferencer.embed_images(paths) @ class_embeds.T, labels, topk=(1,))

    # clip_benchmark's own classifier weights, from the model as its loader loads it.
    model, _, tokenizer = load_clip('open_clip', f'local-dir:{folder}', None, None, 'cpu')
    theirs = zero_shot_classifier(model.eval(), tokenizer, names, TEMPLATES, 'cpu', amp=False)
    torch.testing.assert_close(theirs, class_embeds.T, rtol=1e-5, atol=1e-6)
    assert result['metrics']['acc1'] * 100 == pytest.approx(ours['top1'], abs=1e-9)
    assert 0 <= result['metrics']['mean_per_class_recall'] <= 1


def test_zerovl_prompt_ensembles_score_as_tools_test(exported, synthetic_root, tmp_path):
    """With --zerovl-prompts (synonyms, zerovl's templates and its "a"/"an"), clip_benchmark's acc1 is the top-1
    of zerovl's own path: ZeroShotClassifier.test_step on the test pipeline's images, then ClassificationAccuracy."""
    _, cfg, checkpoint, folder = exported
    classes = shape_folders(synthetic_root, tmp_path / 'shapes')
    result = run([folder, '--task', 'zeroshot_classification', '--image-folder', str(tmp_path / 'shapes'),
                  '--zerovl-prompts', 'synthetic_shape', 'synthetic'], tmp_path, 'ensembles')

    synonyms = [next(names for names in resolve_classnames('synthetic_shape') if shape in names) for shape in classes]
    assert any(len(names) > 1 for names in synonyms)  # the ensembles really differ from one name per class
    pipeline = cfg.test_dataloader.dataset.datasets[0].pipeline
    classifier = MODELS.build(dict(inference_model_config(cfg.model.to_dict()), type='ZeroShotClassifier',
                                   classnames=synonyms, templates='synthetic',
                                   tokenizer=pipeline[2]['tokenizer'], max_length=25)).eval()
    classifier.load_state_dict(checkpoint_weights(checkpoint), strict=True)
    preprocess = ImagePreprocess(pipeline, classifier.data_preprocessor)
    samples = [(path, label) for label, shape in enumerate(classes) for path in classes[shape]]
    batch = dict(inputs=dict(images=torch.stack([preprocess.uint8(path) for path, _ in samples])),
                 data_samples=[dict(gt_label=label, dataset_name='shapes') for _, label in samples])
    with torch.no_grad():
        predictions = classifier.test_step(batch)
    metric = ClassificationAccuracy(topk=(1,))
    metric.process(batch, predictions)
    ours = metric.compute_metrics(metric.results)
    assert result['metrics']['acc1'] * 100 == pytest.approx(ours['shapes/top1'], abs=1e-9)
    # The class embeddings themselves: clip_benchmark's from its per-class prompt lists, ours from the ensembles.
    model, _, tokenizer = load_clip('open_clip', f'local-dir:{folder}', None, None, 'cpu')
    prompts = load_script(SCRIPT).zerovl_prompts('synthetic_shape', 'synthetic', list(classes))
    theirs = zero_shot_classifier(model.eval(), tokenizer, *prompts, 'cpu', amp=False)
    torch.testing.assert_close(theirs, classifier.compute_class_embeddings(tuple(synonyms), classifier.tasks[None][1]).T,
                               rtol=1e-5, atol=1e-6)


def test_zero_shot_retrieval_matches_zerovl(exported, synthetic_root, tmp_path):
    config_file, cfg, checkpoint, folder = exported
    result = run([folder, '--task', 'zeroshot_retrieval', '--data-root', synthetic_root, '--name', 'synth_a',
                  '--split', 'valid', '--recall-k', '1', '5', '--batch-size', '3'], tmp_path, 'retrieval')
    assert result['num_images'] == 8

    # zerovl's retrieval computation over the same captions, grouped by image_id, from config + checkpoint.
    rows = list(csv.DictReader(open(osp.join(synthetic_root, 'synth_a', 'valid_anno.csv'))))
    image_ids = list(dict.fromkeys(row['image_id'] for row in rows))
    images = {row['image_id']: osp.join(synthetic_root, 'synth_a', 'valid', row['image']) for row in rows}
    inferencer = ZeroVLInferencer.create(config_file, checkpoint)
    ours = retrieval_metrics(inferencer.embed_images([images[i] for i in image_ids]),
                             inferencer.embed_texts([row['caption'] for row in rows]),
                             torch.tensor([image_ids.index(row['image_id']) for row in rows]))
    metrics = result['metrics']
    for k in (1, 5):  # clip_benchmark averages in float32; one caption of 40 is 2.5 points
        assert metrics[f'text_retrieval_recall@{k}'] * 100 == pytest.approx(ours[f'i2t_R@{k}'], abs=1e-4)
        assert metrics[f'image_retrieval_recall@{k}'] * 100 == pytest.approx(ours[f't2i_R@{k}'], abs=1e-4)
    assert metrics['image_retrieval_recall@1'] < metrics['image_retrieval_recall@5']  # not a degenerate 0 or 1


def test_bad_arguments_are_refused(exported, tmp_path, capsys):
    folder = exported[3]
    tool = load_script(SCRIPT)
    for argv in ([folder, '--task', 'zeroshot_classification'],
                 [folder, '--task', 'zeroshot_classification', '--image-folder', str(tmp_path / 'missing')],
                 [folder, '--task', 'zeroshot_retrieval', '--name', 'synth_a'],
                 [str(tmp_path / 'no_model'), '--task', 'zeroshot_retrieval']):
        with pytest.raises(SystemExit):
            tool.main(argv)
    (tmp_path / 'images' / 'circle').mkdir(parents=True)
    shutil.copy(osp.join(exported[1].test_dataloader.dataset.datasets[0].data_root, 'synth_a/valid/000001.jpg'),
                tmp_path / 'images' / 'circle')
    (tmp_path / 'templates.txt').write_text('a photo of a {}.\n')  # clip_benchmark's slot is {c}
    assert tool.main([folder, '--task', 'zeroshot_classification', '--image-folder', str(tmp_path / 'images'),
                      '--templates', str(tmp_path / 'templates.txt')]) == 1
    assert "'a photo of a {}.' has no {c}" in capsys.readouterr().err
    data_root = exported[1].test_dataloader.dataset.datasets[0].data_root
    assert tool.main([folder, '--task', 'zeroshot_retrieval', '--data-root', data_root, '--name', 'synth_a',
                      '--recall-k', '1', '10']) == 1
    assert '--recall-k 10 exceeds the 8 images' in capsys.readouterr().err
