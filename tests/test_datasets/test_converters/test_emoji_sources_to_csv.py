"""tools/dataset_converters/emoji_sources_to_csv.py on hand-made packages of three sources (emoji-datasource
google and twitter, openmoji), and the readers on the real packages when they are installed."""
import csv
import json
import os.path as osp
import shutil

import numpy as np
import pytest
from PIL import Image

from zerovl.datasets import ImageTextDataset
from zerovl.datasets.converters.emoji import EmojiFormatError
from zerovl.datasets.converters.emoji_sources import (SOURCES, ZERO_SHOT_GROUPS, SourceImage, concept_key, is_held_out,
                                                      read_datasource, read_openmoji, split_by_concept)
from zerovl.datasets.image_folder import ImageFolderDataset
from zerovl.testing import load_script

SCRIPT = 'tools/dataset_converters/emoji_sources_to_csv.py'
NPM = 'data/npm/node_modules'
RSVG = shutil.which('rsvg-convert')

# Six concepts drawn by every source; '2764' is spelled with FE0F by emoji-datasource and without by openmoji.
CONCEPTS = [('1F600', 'GRINNING FACE', ['grinning'], 'Smileys & Emotion', 'face-smiling', 'smileys-emotion'),
            ('1F602', 'FACE WITH TEARS OF JOY', ['joy'], 'Smileys & Emotion', 'face-smiling', 'smileys-emotion'),
            ('1F408', 'CAT', ['cat2'], 'Animals & Nature', 'animal-mammal', 'animals-nature'),
            ('2764-FE0F', 'RED HEART', ['heart'], 'Smileys & Emotion', 'heart', 'smileys-emotion'),
            ('1F34E', 'RED APPLE', ['apple'], 'Food & Drink', 'food-fruit', 'food-drink'),
            ('1F3C1', 'CHEQUERED FLAG', ['checkered_flag'], 'Flags', 'flag', 'flags')]
SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="72" height="72">'
       '<circle cx="36" cy="36" r="30" fill="#c81e3c"/></svg>')


def write_png(path):
    image = Image.new('RGBA', (8, 8), (0, 0, 0, 0))  # transparent black around a red centre
    image.paste((200, 30, 60, 255), (2, 2, 6, 6))
    image.save(path)


def make_datasource(root, art):
    package = root / f'emoji-datasource-{art}'
    (package / 'img' / art / '64').mkdir(parents=True)
    records = []
    for unified, name, short_names, category, subcategory, _ in CONCEPTS:
        image = unified.lower() + '.png'
        write_png(package / 'img' / art / '64' / image)
        records.append(dict(name=name, unified=unified, short_names=short_names, image=image, category=category,
                            subcategory=subcategory, **{f'has_img_{art}': True}))
    (package / 'emoji.json').write_text(json.dumps(records))
    return package


def make_openmoji(root):
    package = root / 'openmoji'
    (package / 'color' / 'svg').mkdir(parents=True)
    (package / 'data').mkdir()
    rows = [dict(hexcode=unified.replace('-FE0F', ''), group=group, annotation=name.lower(),
                 tags='happy, face' if 'FACE' in name else '', openmoji_tags='face, smile', skintone='')
            for unified, name, _, _, _, group in CONCEPTS]
    # A skin-tone variant (skipped) and an OpenMoji extra outside the nine groups (kept, no zero-shot label).
    rows.append(dict(rows[0], hexcode='1F600-1F3FB', skintone='1'))
    rows.append(dict(hexcode='E050', group='extras-openmoji', annotation='Firefox', tags='', openmoji_tags='browser',
                     skintone=''))
    with open(package / 'data' / 'openmoji.csv', 'w', newline='', encoding='utf-8') as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    for row in rows:
        (package / 'color' / 'svg' / f'{row["hexcode"]}.svg').write_text(SVG)
    return package


@pytest.fixture
def npm(tmp_path):
    root = tmp_path / 'npm' / 'node_modules'
    make_datasource(root, 'google')
    make_datasource(root, 'twitter')
    make_openmoji(root)
    return tmp_path / 'npm'


def seed_with_both_sides(concepts, fraction=0.5):
    return next(seed for seed in range(100)
                if 0 < sum(is_held_out(c, fraction, seed) for c in concepts) < len(concepts))


def test_each_source_captions_from_its_own_metadata_in_its_own_style(npm):
    root = npm / 'node_modules'
    google = {image.concept: image.candidates for image in read_datasource(str(root / 'emoji-datasource-google'),
                                                                            'google')}
    twitter = {image.concept: image.candidates for image in read_datasource(str(root / 'emoji-datasource-twitter'),
                                                                             'twitter')}
    openmoji = {image.concept: image for image in read_openmoji(str(root / 'openmoji'))}
    assert google['1F602'] == (('face with tears of joy', 0), ('joy', 1))
    assert twitter['1F602'] == (('a face smiling emoji: face with tears of joy', 0),)
    assert openmoji['1F602'].candidates == (('face with tears of joy', 0), ('happy, face, smile', 1))
    # Keys agree across spellings; the skin-tone variant is gone; the extra has no zero-shot group.
    assert set(google) == set(twitter) == set(openmoji) - {'E050'}
    assert '2764' in google and '2764' in openmoji
    assert openmoji['E050'].group == '' and openmoji['1F3C1'].group == 'flags'
    assert not {text for c in google.values() for text, _ in c} & {text for c in twitter.values() for text, _ in c}


def test_held_out_concepts_are_the_same_in_every_source_and_never_trained():
    assert concept_key('2764-fe0f') == concept_key('2764') == '2764'
    concepts = [c[0] for c in CONCEPTS]
    seed = seed_with_both_sides([concept_key(c) for c in concepts])
    images = [SourceImage(c, c + '.png', concept_key(c), '', ()) for c in concepts]
    full = split_by_concept(images, 0.5, seed)
    scarce = split_by_concept(images, 0.5, seed, train_fraction=0.5)
    assert [i.concept for i in scarce['valid']] == [i.concept for i in full['valid']]
    assert {i.concept for i in scarce['train']} <= {i.concept for i in full['train']}
    assert not {i.concept for i in full['train']} & {i.concept for i in full['valid']}
    with pytest.raises(ValueError, match='valid_fraction'):
        split_by_concept(images, 1.0, seed)


@pytest.mark.skipif(RSVG is None, reason='rsvg-convert (Debian librsvg2-bin) is not installed: OpenMoji is SVG')
def test_cli_writes_per_source_layouts_that_the_datasets_read(npm, tmp_path, capsys):
    seed = seed_with_both_sides([concept_key(c[0]) for c in CONCEPTS])
    out = tmp_path / 'data'
    assert load_script(SCRIPT).main(['--npm-prefix', str(npm), '--out-root', str(out), '--valid-fraction', '0.5',
                                     '--seed', str(seed)]) == 0
    assert '3 sources converted' in capsys.readouterr().out
    root = out / 'emoji_sources'
    held = {split: set() for split in ('train', 'valid')}
    for source in SOURCES:
        for split in held:
            dataset = ImageTextDataset(data_root=str(root), name=source, split=split, pipeline=[])
            held[split] |= {concept_key(osp.splitext(dataset[i]['img_path'])[0].rsplit('/', 1)[1])
                            for i in range(len(dataset))}
        image = np.asarray(Image.open(next((root / source / 'valid').iterdir())))
        # PNGs keep their size, SVGs are rasterised at 64 px; transparent corners composited on white.
        assert image.shape == ((64, 64, 3) if source == 'openmoji' else (8, 8, 3))
        assert tuple(image[0, 0]) == (255, 255, 255) and tuple(image[len(image) // 2, len(image) // 2]) == (200, 30, 60)
        # Zero-shot lists: read by ImageFolderDataset with the shared group names.
        groups = ImageFolderDataset(data_root=str(root / source), ann_file='valid_groups.txt',
                                    classes=str(root / 'groups.txt'), pipeline=[])
        assert len(groups) > 0 and groups.metainfo['classes'] == ZERO_SHOT_GROUPS
    expected_valid = {concept_key(c[0]) for c in CONCEPTS if is_held_out(concept_key(c[0]), 0.5, seed)}
    assert held['valid'] - {'E050'} == expected_valid
    assert not held['train'] & held['valid']
    summary = json.loads((root / 'summary.json').read_text())
    assert summary['sources']['openmoji']['records'] == len(CONCEPTS) + 1  # skin tone skipped, extra kept


def test_missing_package_and_bad_openmoji_csv_name_the_cause(npm, tmp_path, capsys):
    assert load_script(SCRIPT).main(['--npm-prefix', str(tmp_path / 'nowhere'), '--out-root', str(tmp_path)]) == 1
    assert 'npm install emoji-datasource-google@16.0.0' in capsys.readouterr().err
    csv_path = npm / 'node_modules' / 'openmoji' / 'data' / 'openmoji.csv'
    csv_path.write_text('hexcode,annotation\n1F600,grinning face\n')
    with pytest.raises(EmojiFormatError, match=r"openmoji\.csv: missing columns \['group'"):
        read_openmoji(str(npm / 'node_modules' / 'openmoji'))


def test_real_packages_give_three_sources_sharing_most_concepts():
    missing = [SOURCES[s]['package'] for s in SOURCES if not osp.isdir(osp.join(NPM, SOURCES[s]['package']))]
    if missing:
        pytest.skip(f'npm packages {missing} not found under {NPM} (make real-multisource)')
    google = read_datasource(osp.join(NPM, 'emoji-datasource-google'), 'google')
    twitter = read_datasource(osp.join(NPM, 'emoji-datasource-twitter'), 'twitter')
    openmoji = read_openmoji(osp.join(NPM, 'openmoji'))
    assert len(google) == len(twitter) == 1911 and len(openmoji) == 2465  # 16.0.0 and 17.0.0, no skin tones
    shared = {i.concept for i in google} & {i.concept for i in openmoji}
    assert len(shared) > 0.9 * len(google)  # one concept set, other art
    # OpenMoji's own tag lists are almost never an emoji-datasource caption (single tags such as 'a' can be).
    openmoji_tags = {text for i in openmoji for text, rank in i.candidates if rank == 1}
    assert len(openmoji_tags & {text for i in google + twitter for text, _ in i.candidates}) < 0.01 * len(openmoji_tags)
    held = [split_by_concept(images, 0.15, 0) for images in (google, twitter, openmoji)]
    trained = set().union(*({i.concept for i in s['train']} for s in held))
    assert not trained & set().union(*({i.concept for i in s['valid']} for s in held))
