"""Deterministic two-domain synthetic image-caption data in the original ZeroVL on-disk layout.

Each image shows one shape in one colour, at one quadrant and one size: 8 x 8 x 4 x 2 = 512 compositional
concepts, so retrieval has to bind attributes rather than match a single word. Two domains carry a domain
signature that is trivial to detect on both sides, which is what ZeroVL's debiased sampling is about
(a shuffled batch lets a model reject out-of-domain negatives by that cue alone):

* ``synth_a``: light plain background, filled anti-aliased shapes; full-sentence captions ("a photo of a
  large red circle in the top left corner.").
* ``synth_b``: dark textured background (noise or stripes), filled shapes with a light outline;
  telegraphic captions with a separate vocabulary ("top-left: big crimson disc on dark ground").

Layout written under ``root`` (what ``ImageTextDataset`` reads)::

    root/<domain>/train_anno.csv   header ``image,image_id,caption,caption_id``, one caption per image
    root/<domain>/train/*.jpg
    root/<domain>/valid_anno.csv   K distinct captions per held-out image
    root/<domain>/valid/*.jpg
    root/<domain>/<split>_concepts.csv  header ``image,image_id,shape,colour,position,size``, one row per
                                   image: the labels of zero-shot classification (synthetic_concepts.py)
    root/vocab.txt                 WordPiece vocabulary covering every word the grammars can produce
    root/README.txt
    root/.params.json              stamp of the arguments; a matching complete set is not regenerated

Everything is a pure function of the arguments: a fixed seed gives byte-identical files.
"""
import csv
import functools
import itertools
import json
import re
import shutil
from pathlib import Path
from typing import Dict, Iterable, List, Sequence, Tuple

import numpy as np

from zerovl.utils.synthetic_vocabulary import GRAMMARS, CaptionGrammar
from .scenes import ALL_CONCEPTS, DOMAINS, Concept, render_scene, write_jpeg

# Bump when the rendering, the grammar or the set of files changes, so that stamped sets from older code
# are regenerated. 2: {split}_concepts.csv added.
FORMAT_VERSION = 2

SPLITS = ('train', 'valid')
ANNO_HEADER = ('image', 'image_id', 'caption', 'caption_id')
CONCEPT_ATTRIBUTES = ('shape', 'colour', 'position', 'size')  # the fields of ``Concept``
CONCEPTS_HEADER = ('image', 'image_id') + CONCEPT_ATTRIBUTES
SPECIAL_TOKENS = ('[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]')
STAMP_NAME = '.params.json'


_ARTICLE_BEFORE_VOWEL = re.compile(r'\ba (?=[aeiou])')
# Same split as BERT's basic tokenizer for lower-case ASCII text: runs of letters/digits, and every
# punctuation character on its own. The grammars only use such text (checked by ``grammar_tokens``).
_BASIC_TOKEN = re.compile(r'[a-z0-9]+|[^\sa-z0-9]')


def _fix_articles(text: str) -> str:
    # Templates say "a {size} ..."; the slot filler decides whether English needs "an".
    return _ARTICLE_BEFORE_VOWEL.sub('an ', text)


def caption_variants(grammar: CaptionGrammar, concept: Concept) -> List[str]:
    """Every distinct caption the grammar can produce for ``concept``, in a fixed order."""
    combos = itertools.product(
        grammar.templates, grammar.sizes[concept.size], grammar.colours[concept.colour],
        grammar.shapes[concept.shape], grammar.positions[concept.position])
    texts = (_fix_articles(template.format(size=size, colour=colour, shape=shape, pos=pos))
             for template, size, colour, shape, pos in combos)
    return list(dict.fromkeys(texts))  # drops repeats, keeps first-seen order


@functools.lru_cache(maxsize=None)
def domain_caption_variants(domain: str, concept: Concept) -> Tuple[str, ...]:
    # Cached: generation asks for the same 512 concepts thousands of times.
    return tuple(caption_variants(GRAMMARS[domain], concept))


def basic_tokens(text: str) -> List[str]:
    return _BASIC_TOKEN.findall(text.lower())


def grammar_tokens(domains: Iterable[str] = DOMAINS) -> List[str]:
    """Sorted set of words and punctuation marks over all captions of all concepts of ``domains``.

    Enumerating the realised captions (rather than the raw template strings) also catches words that only
    appear after post-processing, such as "an".
    """
    tokens = set()
    for domain in domains:
        for concept in ALL_CONCEPTS:
            for caption in domain_caption_variants(domain, concept):
                if not caption.isascii() or caption != caption.lower():
                    raise ValueError(f'grammar text must be lower-case ASCII: {caption!r}')
                tokens.update(basic_tokens(caption))
    return sorted(tokens)


def build_vocab(domains: Iterable[str] = DOMAINS) -> List[str]:
    """WordPiece vocabulary: BERT special tokens first, then every whole word, so nothing maps to [UNK]."""
    return list(SPECIAL_TOKENS) + grammar_tokens(domains)


# --------------------------------------------------------------------------------------------------------
# Dataset generation
# --------------------------------------------------------------------------------------------------------

def balanced_concepts(rng: np.random.Generator, count: int) -> List[Concept]:
    """``count`` concepts as a sequence of shuffled passes over all 512, so every concept is equally common."""
    passes = -(-count // len(ALL_CONCEPTS))
    order = np.concatenate([rng.permutation(len(ALL_CONCEPTS)) for _ in range(passes)])[:count]
    return [ALL_CONCEPTS[i] for i in order]


def _split_rng(seed: int, domain: str, split: str) -> np.random.Generator:
    # One independent stream per (domain, split): changing the size of one part leaves the others identical.
    return np.random.default_rng([seed, DOMAINS.index(domain), SPLITS.index(split)])


def generate_split(out_dir: Path, domain: str, split: str, num_images: int, captions_per_image: int,
                   image_size: int, seed: int, style: str = None) -> Dict[str, object]:
    """Render ``num_images`` images into ``out_dir/<split>/``; write ``out_dir/<split>_anno.csv`` (captions)
    and ``out_dir/<split>_concepts.csv`` (each image's attributes).

    ``style`` is the domain whose rendering and grammar are used (default: ``domain`` itself); the random
    stream always belongs to ``domain``, so a restyled domain keeps its own images and concepts."""
    style = style or domain
    rng = _split_rng(seed, domain, split)
    image_dir = out_dir / split
    image_dir.mkdir(parents=True, exist_ok=True)
    rows, concept_rows = [], []
    # Ids start at 1: the original local-eval hook drops image_id 0.
    for image_id, concept in enumerate(balanced_concepts(rng, num_images), start=1):
        file_name = f'{image_id:06d}.jpg'
        write_jpeg(image_dir / file_name, render_scene(concept, style, rng, image_size))
        variants = domain_caption_variants(style, concept)
        for choice in rng.choice(len(variants), size=captions_per_image, replace=False):
            rows.append((file_name, image_id, variants[choice], len(rows) + 1))
        # Recorded, not drawn: the labels cost no random numbers, so images and captions stay as before.
        concept_rows.append((file_name, image_id) + tuple(getattr(concept, key) for key in CONCEPT_ATTRIBUTES))
    anno_path = out_dir / f'{split}_anno.csv'
    concepts_path = out_dir / f'{split}_concepts.csv'
    _write_csv(anno_path, ANNO_HEADER, rows)
    _write_csv(concepts_path, CONCEPTS_HEADER, concept_rows)
    return {'anno': str(anno_path), 'concepts': str(concepts_path), 'image_dir': str(image_dir),
            'images': num_images, 'captions': len(rows)}


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[tuple]) -> None:
    with path.open('w', newline='', encoding='utf-8') as f:
        writer = csv.writer(f, lineterminator='\n')
        writer.writerow(header)
        writer.writerows(rows)


def _readme_text(params: Dict[str, int]) -> str:
    size = params['image_size']
    control = ['CONTROL SET (look_alike): synth_b is rendered and captioned exactly like synth_a, so the two',
               'domains share no signature; only their sizes and random draws differ.'] if params['look_alike'] else []
    return '\n'.join([
        'zerovl synthetic image-caption set (two domains, ZeroVL layout).',
        f'Each {size}x{size} RGB JPEG shows one shape (8 kinds) in one colour (8), in one quadrant (4) and one',
        'size (2): 512 concepts. synth_a: light plain background, sentence captions. synth_b: dark textured',
        'background, outlined shapes, terse captions with a separate vocabulary. train_anno.csv has one',
        'caption per image; valid_anno.csv has captions_per_image distinct captions per held-out image.',
        '<split>_concepts.csv gives each image its shape, colour, position and size (zero-shot labels).',
        *control,
        'vocab.txt is a BERT WordPiece vocabulary covering every caption word.',
        'Generated by zerovl.datasets.synthetic.make_synthetic_dataset (tools/dataset_converters/make_synthetic.py) with:',
        *[f'  {key} = {value}' for key, value in params.items()],
        '',
    ])


def _expected_counts(params: Dict[str, int]) -> Dict[str, Dict[str, int]]:
    train = {'synth_a': params['train_a'], 'synth_b': params['train_b']}
    return {domain: {'train': train[domain], 'valid': params['valid_images']} for domain in DOMAINS}


def _summary(root: Path, params: Dict[str, int], regenerated: bool) -> Dict[str, object]:
    domains = {}
    for domain, counts in _expected_counts(params).items():
        domains[domain] = {}
        for split, images in counts.items():
            per_image = 1 if split == 'train' else params['captions_per_image']
            domains[domain][split] = {
                'anno': str(root / domain / f'{split}_anno.csv'),
                'concepts': str(root / domain / f'{split}_concepts.csv'), 'image_dir': str(root / domain / split),
                'images': images, 'captions': images * per_image}
    return {'root': str(root), 'vocab': str(root / 'vocab.txt'), 'readme': str(root / 'README.txt'),
            'params': dict(params), 'regenerated': regenerated, 'domains': domains}


def _is_complete(root: Path, params: Dict[str, int]) -> bool:
    """True when the stamp matches ``params`` and every expected file is present."""
    stamp = root / STAMP_NAME
    try:
        if json.loads(stamp.read_text()) != params:
            return False
    except (OSError, ValueError):
        return False
    if not (root / 'vocab.txt').is_file() or not (root / 'README.txt').is_file():
        return False
    for domain, counts in _expected_counts(params).items():
        for split, images in counts.items():
            for table in (f'{split}_anno.csv', f'{split}_concepts.csv'):
                if not (root / domain / table).is_file():
                    return False
            if sum(1 for _ in (root / domain / split).glob('*.jpg')) != images:
                return False
    return True


def _clear_generated(root: Path) -> None:
    # Remove only what this generator writes, so a root shared with other files is left alone.
    (root / STAMP_NAME).unlink(missing_ok=True)
    for domain in DOMAINS:
        shutil.rmtree(root / domain, ignore_errors=True)
    for name in ('vocab.txt', 'README.txt'):
        (root / name).unlink(missing_ok=True)


def make_synthetic_dataset(root, *, train_a: int = 3200, train_b: int = 1000, valid_images: int = 200,
                           captions_per_image: int = 5, image_size: int = 64, seed: int = 0,
                           look_alike: bool = False) -> Dict[str, object]:
    """Generate the two-domain set under ``root`` (or reuse it) and return a summary of paths and counts.

    Defaults give 3,200 : 1,000 training pairs (about the CC3M : SBU ratio) and 200 held-out images x 5
    captions per domain. A complete set stamped with the same arguments is reused as is.

    ``look_alike=True`` writes the control of the sampling experiment: synth_b drawn from its own random
    stream but rendered and captioned in synth_a's style, so nothing tells the two domains apart.
    """
    root = Path(root)
    params = {'format_version': FORMAT_VERSION, 'train_a': train_a, 'train_b': train_b,
              'valid_images': valid_images, 'captions_per_image': captions_per_image,
              'image_size': image_size, 'seed': seed, 'look_alike': bool(look_alike)}
    _check_args(params)
    if _is_complete(root, params):
        return _summary(root, params, regenerated=False)

    _clear_generated(root)
    root.mkdir(parents=True, exist_ok=True)
    for domain, counts in _expected_counts(params).items():
        for split, images in counts.items():
            per_image = 1 if split == 'train' else captions_per_image
            style = 'synth_a' if look_alike else domain
            generate_split(root / domain, domain, split, images, per_image, image_size, seed, style)
    (root / 'vocab.txt').write_text('\n'.join(build_vocab(DOMAINS)) + '\n', encoding='utf-8')
    (root / 'README.txt').write_text(_readme_text(params), encoding='utf-8')
    # Written last: an interrupted run leaves no stamp and is regenerated next time.
    (root / STAMP_NAME).write_text(json.dumps(params, indent=2) + '\n', encoding='utf-8')
    return _summary(root, params, regenerated=True)


def _check_args(params: Dict[str, int]) -> None:
    for key in ('train_a', 'train_b', 'valid_images'):
        if params[key] < 1:
            raise ValueError(f'{key} must be at least 1, got {params[key]}')
    if params['image_size'] < 16:
        raise ValueError(f'image_size must be at least 16, got {params["image_size"]}')
    fewest = min(len(domain_caption_variants(domain, concept)) for domain in DOMAINS for concept in ALL_CONCEPTS)
    if not 1 <= params['captions_per_image'] <= fewest:
        raise ValueError(f'captions_per_image must be in [1, {fewest}] (distinct captions the grammars '
                         f'give the least varied concept), got {params["captions_per_image"]}')

