import csv
import hashlib
import json
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
import pytest

from zerovl.datasets.synthetic import generator as synthetic
from zerovl.datasets.synthetic import scenes as synthetic_scenes
from zerovl.datasets.synthetic.generator import (ANNO_HEADER, CONCEPTS_HEADER, FORMAT_VERSION, GRAMMARS,
                                                 SPECIAL_TOKENS, STAMP_NAME, balanced_concepts, basic_tokens,
                                                 domain_caption_variants, make_synthetic_dataset)
from zerovl.datasets.synthetic.scenes import ALL_CONCEPTS, DOMAINS, Concept, render_scene, write_jpeg
from zerovl.utils.tokenizer import build_tokenizer
from zerovl.testing import load_script

# Small enough to keep the whole module at a few seconds.
SMALL = dict(train_a=40, train_b=20, valid_images=8, captions_per_image=5, image_size=64, seed=0)
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope='module')
def small_set(tmp_path_factory):
    root = tmp_path_factory.mktemp('synthetic')
    return root, make_synthetic_dataset(root, **SMALL)


def read_anno(path):
    with open(path, newline='', encoding='utf-8') as f:
        return list(csv.reader(f))


def tree_digest(root):
    """Hash of every file's relative path and bytes under ``root``."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(root).rglob('*') if p.is_file()):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def all_captions(root):
    return [row[2] for domain in DOMAINS for split in ('train', 'valid')
            for row in read_anno(Path(root) / domain / f'{split}_anno.csv')[1:]]


def test_layout_and_header(small_set):
    root, summary = small_set
    for name in ('vocab.txt', 'README.txt', STAMP_NAME):
        assert (root / name).is_file()
    for domain in DOMAINS:
        for split in ('train', 'valid'):
            anno = root / domain / f'{split}_anno.csv'
            assert anno.read_text(encoding='utf-8').splitlines()[0] == 'image,image_id,caption,caption_id'
            rows = read_anno(anno)
            assert tuple(rows[0]) == ANNO_HEADER
            # Every referenced file exists, relative to the split's image folder, and none is unreferenced.
            referenced = {row[0] for row in rows[1:]}
            on_disk = {p.name for p in (root / domain / split).glob('*.jpg')}
            assert referenced == on_disk
            assert summary['domains'][domain][split]['anno'] == str(anno)


def test_concept_tables_label_every_image_as_its_captions_describe_it(small_set):
    root, summary = small_set
    tables = {'shape': 'shapes', 'colour': 'colours', 'size': 'sizes', 'position': 'positions'}
    for domain in DOMAINS:
        grammar = GRAMMARS[domain]
        for split in ('train', 'valid'):
            path = root / domain / f'{split}_concepts.csv'
            assert summary['domains'][domain][split]['concepts'] == str(path)
            rows = read_anno(path)
            assert tuple(rows[0]) == CONCEPTS_HEADER
            concepts = {(image, image_id): Concept(*values) for image, image_id, *values in rows[1:]}
            assert {image for image, _ in concepts} == {p.name for p in (root / domain / split).glob('*.jpg')}
            assert len(concepts) == len(rows) - 1  # one row per image
            for image, image_id, caption, _ in read_anno(root / domain / f'{split}_anno.csv')[1:]:
                concept = concepts[(image, image_id)]
                words = f" {' '.join(basic_tokens(caption))} "
                for attribute, table in tables.items():
                    synonyms = getattr(grammar, table)[getattr(concept, attribute)]
                    assert any(f" {' '.join(basic_tokens(s))} " in words for s in synonyms), (caption, attribute)
            # The labels are the concepts the split's random stream drew first, recorded without a draw
            # of their own: images and captions are those of a set generated before the tables existed.
            drawn = balanced_concepts(synthetic._split_rng(SMALL['seed'], domain, split), len(concepts))
            assert list(concepts.values()) == drawn


def test_set_from_before_the_concept_tables_is_regenerated(tmp_path):
    args = dict(train_a=5, train_b=4, valid_images=2, captions_per_image=2)
    make_synthetic_dataset(tmp_path, **args)
    digest = tree_digest(tmp_path)
    # What format 1 left behind: no concept tables, and its own stamp.
    for path in tmp_path.rglob('*_concepts.csv'):
        path.unlink()
    stamp = json.loads((tmp_path / STAMP_NAME).read_text())
    (tmp_path / STAMP_NAME).write_text(json.dumps({**stamp, 'format_version': 1}))
    assert FORMAT_VERSION > 1
    assert make_synthetic_dataset(tmp_path, **args)['regenerated']
    assert tree_digest(tmp_path) == digest
    # A current stamp with a table missing (an interrupted copy) is incomplete too.
    (tmp_path / 'synth_b' / 'valid_concepts.csv').unlink()
    assert make_synthetic_dataset(tmp_path, **args)['regenerated']
    assert tree_digest(tmp_path) == digest


def test_row_counts(small_set):
    root, summary = small_set
    expected_train = {'synth_a': SMALL['train_a'], 'synth_b': SMALL['train_b']}
    for domain in DOMAINS:
        train = read_anno(root / domain / 'train_anno.csv')[1:]
        assert len(train) == expected_train[domain] == summary['domains'][domain]['train']['captions']
        assert len({row[1] for row in train}) == len(train)  # one caption per training image
        valid = read_anno(root / domain / 'valid_anno.csv')[1:]
        assert len(valid) == SMALL['valid_images'] * SMALL['captions_per_image']
        ids = [int(row[1]) for row in train + valid] + [int(row[3]) for row in train + valid]
        assert min(ids) >= 1  # id 0 is dropped by the original local-eval hook


def test_valid_images_have_k_distinct_captions(small_set):
    root, _ = small_set
    for domain in DOMAINS:
        rows = read_anno(root / domain / 'valid_anno.csv')[1:]
        by_image = defaultdict(list)
        for image, image_id, caption, _ in rows:
            by_image[(image, image_id)].append(caption)
        assert len(by_image) == SMALL['valid_images']
        assert len({image for image, _ in by_image}) == len({image_id for _, image_id in by_image})
        for captions in by_image.values():
            assert len(captions) == SMALL['captions_per_image'] == len(set(captions))
        caption_ids = [row[3] for row in rows]
        assert len(set(caption_ids)) == len(caption_ids)


def test_pandas_reads_quoted_captions(small_set):
    pd = pytest.importorskip('pandas')
    root, _ = small_set
    frame = pd.read_csv(root / 'synth_b' / 'train_anno.csv')
    assert list(frame.columns) == list(ANNO_HEADER)
    assert frame['caption'].tolist() == [row[2] for row in read_anno(root / 'synth_b' / 'train_anno.csv')[1:]]


def test_images_decode_to_rgb_of_right_shape(small_set):
    root, _ = small_set
    for path in sorted(root.rglob('*.jpg')):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        assert image is not None and image.shape == (64, 64, 3) and image.dtype == np.uint8


def test_domains_differ_in_background_brightness(small_set):
    root, _ = small_set
    mean = {domain: np.mean([cv2.imread(str(p)).mean() for p in (root / domain / 'train').glob('*.jpg')])
            for domain in DOMAINS}
    assert mean['synth_a'] > 170 and mean['synth_b'] < 80


def test_colour_survives_jpeg_round_trip(tmp_path):
    # A large red square drawn in domain A must read back red after cv2.imread + BGR->RGB.
    concept = Concept('square', 'red', 'top left', 'large')
    rgb = render_scene(concept, 'synth_a', np.random.default_rng(0), 64)
    write_jpeg(tmp_path / 'red.jpg', rgb)
    back = cv2.cvtColor(cv2.imread(str(tmp_path / 'red.jpg')), cv2.COLOR_BGR2RGB)
    r, g, b = back[14:18, 14:18].reshape(-1, 3).mean(0)
    assert r > 180 and g < 80 and b < 80
    # The opposite quadrant holds only background.
    assert back[40:60, 40:60].min() > 180


def test_shape_stays_in_its_quadrant():
    rng = np.random.default_rng(1)
    for concept in ALL_CONCEPTS[::7]:
        rgb = render_scene(concept, 'synth_a', rng, 64).astype(np.float32)
        changed = np.abs(rgb - np.median(rgb.reshape(-1, 3), axis=0)).max(-1) > 40
        ys, xs = np.nonzero(changed)
        assert ys.size > 0
        top, left = concept.position.startswith('top'), concept.position.endswith('left')
        assert (ys.max() < 32) if top else (ys.min() >= 32)
        assert (xs.max() < 32) if left else (xs.min() >= 32)


def test_generation_is_deterministic(small_set, tmp_path):
    root, _ = small_set
    make_synthetic_dataset(tmp_path / 'again', **SMALL)
    assert tree_digest(tmp_path / 'again') == tree_digest(root)
    make_synthetic_dataset(tmp_path / 'other_seed', **{**SMALL, 'seed': 1})
    assert tree_digest(tmp_path / 'other_seed') != tree_digest(root)


def test_vocab_format(small_set):
    root, _ = small_set
    vocab = (root / 'vocab.txt').read_text(encoding='utf-8').splitlines()
    assert tuple(vocab[:5]) == SPECIAL_TOKENS
    words = vocab[5:]
    assert words == sorted(set(words))
    assert all(word == word.lower() and word.strip() == word and word for word in words)


def test_tokenizer_never_produces_unk(small_set):
    root, _ = small_set
    tokenizer = build_tokenizer(str(root / 'vocab.txt'))
    # The written captions, plus every variant for 8 concepts that together use every attribute value, so
    # every template x synonym combination is tokenised (all 512 concepts would only repeat them, slowly).
    covering = [Concept(shape, colour, synthetic_scenes.POSITIONS[i % 4], synthetic_scenes.SIZES[i % 2])
                for i, (shape, colour) in enumerate(zip(synthetic_scenes.SHAPES, synthetic_scenes.COLOURS))]
    captions = all_captions(root) + [caption for domain in DOMAINS for concept in covering
                                     for caption in domain_caption_variants(domain, concept)]
    encoded = tokenizer(captions, add_special_tokens=False)['input_ids']
    assert all(ids and tokenizer.unk_token_id not in ids for ids in encoded)
    # Every vocabulary word is reachable, so the vocabulary has no dead entries.
    used = {token_id for ids in encoded for token_id in ids}
    assert used == set(range(len(SPECIAL_TOKENS), len(tokenizer)))


def test_domains_use_distinct_attribute_words():
    a = set(synthetic.grammar_tokens(['synth_a']))
    b = set(synthetic.grammar_tokens(['synth_b']))
    for table in ('sizes', 'colours', 'shapes'):
        words_b = {w for phrases in getattr(synthetic.GRAMMARS["synth_b"], table).values() for p in phrases for w in p.split()}
        assert not words_b & a, table
    assert a != b


def test_stamp_makes_second_call_a_noop(tmp_path):
    args = dict(train_a=10, train_b=6, valid_images=3, captions_per_image=2, seed=3)
    first = make_synthetic_dataset(tmp_path, **args)
    assert first['regenerated']
    assert json.loads((tmp_path / STAMP_NAME).read_text())['train_a'] == 10
    mtimes = {p: p.stat().st_mtime_ns for p in tmp_path.rglob('*') if p.is_file()}
    second = make_synthetic_dataset(tmp_path, **args)
    assert not second['regenerated']
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob('*') if p.is_file()} == mtimes
    assert second['domains'] == first['domains']


def test_changed_args_regenerate_and_leave_other_parts_identical(tmp_path):
    args = dict(train_a=10, train_b=6, valid_images=3, captions_per_image=2, seed=3)
    make_synthetic_dataset(tmp_path, **args)
    before_b = tree_digest(tmp_path / 'synth_b')
    before_a_valid = (tmp_path / 'synth_a' / 'valid_anno.csv').read_bytes()
    summary = make_synthetic_dataset(tmp_path, **{**args, 'train_a': 12})
    assert summary['regenerated']
    assert len(list((tmp_path / 'synth_a' / 'train').glob('*.jpg'))) == 12
    assert len(read_anno(tmp_path / 'synth_a' / 'train_anno.csv')) == 13
    # Each (domain, split) has its own random stream.
    assert tree_digest(tmp_path / 'synth_b') == before_b
    assert (tmp_path / 'synth_a' / 'valid_anno.csv').read_bytes() == before_a_valid
    # Fewer images: no stale files from the larger set stay behind.
    make_synthetic_dataset(tmp_path, **{**args, 'valid_images': 2})
    assert len(list((tmp_path / 'synth_b' / 'valid').glob('*.jpg'))) == 2


def test_incomplete_set_is_regenerated(tmp_path):
    args = dict(train_a=5, train_b=4, valid_images=2, captions_per_image=2)
    make_synthetic_dataset(tmp_path, **args)
    digest = tree_digest(tmp_path)
    (tmp_path / 'synth_a' / 'train' / '000003.jpg').unlink()
    assert make_synthetic_dataset(tmp_path, **args)['regenerated']
    assert tree_digest(tmp_path) == digest


def test_rejects_too_many_captions_per_image(tmp_path):
    with pytest.raises(ValueError, match='captions_per_image'):
        make_synthetic_dataset(tmp_path, captions_per_image=10_000)


def test_cli_writes_and_reports(tmp_path, capsys):
    cli = load_script(REPO_ROOT / 'tools/dataset_converters/make_synthetic.py')
    cli.main([str(tmp_path), '--train-a', '6', '--train-b', '4', '--valid-images', '2',
              '--captions-per-image', '3', '--image-size', '32', '--seed', '5'])
    out = capsys.readouterr().out
    assert 'generated' in out and 'synth_b/valid: 2 images, 6 captions' in out
    assert cv2.imread(str(tmp_path / 'synth_a' / 'train' / '000001.jpg')).shape == (32, 32, 3)
    cli.main([str(tmp_path), '--train-a', '6', '--train-b', '4', '--valid-images', '2',
              '--captions-per-image', '3', '--image-size', '32', '--seed', '5'])
    assert 'reused' in capsys.readouterr().out


def test_look_alike_control_removes_the_domain_signature(tmp_path):
    """The sampling experiment's control: synth_b keeps its own draws but looks and reads like synth_a."""
    normal = make_synthetic_dataset(tmp_path / 'normal', **SMALL)
    alike = make_synthetic_dataset(tmp_path / 'alike', **SMALL, look_alike=True)
    grammar_a_words = set(synthetic.grammar_tokens(['synth_a']))
    for summary, expect_a_words in ((normal, False), (alike, True)):
        rows = read_anno(summary['domains']['synth_b']['train']['anno'])[1:]
        uses_a_words = all(set(basic_tokens(row[2])) <= grammar_a_words for row in rows)
        assert uses_a_words == expect_a_words
        images = [cv2.imread(str(p)) for p in sorted(Path(summary['domains']['synth_b']['train']['image_dir']).glob('*.jpg'))]
        corner_brightness = np.mean([image[:3, :3].mean() for image in images])
        assert (corner_brightness > 150) == expect_a_words
    # Same concepts in the same order: only the style changed, not the random stream.
    concepts = lambda s: read_anno(s['domains']['synth_b']['train']['concepts'])  # noqa: E731
    assert concepts(normal) == concepts(alike)
    assert (tmp_path / 'alike' / 'vocab.txt').read_text() == (tmp_path / 'normal' / 'vocab.txt').read_text()
    assert 'CONTROL SET' in (tmp_path / 'alike' / 'README.txt').read_text()
