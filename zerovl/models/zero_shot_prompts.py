"""Prompt templates and class-name sets for zero-shot classification (``ZeroShotClassifier``).

A class is described by one or more names (synonyms); each name is put into every template of an
ensemble, and the class embedding is the normalised mean of all those prompt embeddings
(``zero_shot.py``). Both are plain data so that configs can name them:

* templates: a list of strings with one ``{}`` slot, or the name of a set in ``TEMPLATE_SETS``;
* class names: a list (each entry a name or a list of synonyms), or the name of a set that
  ``named_classnames`` knows: 'imagenet', 'fashion_mnist', 'synthetic_<attribute>' and
  '<domain>_<attribute>' for the bundled synthetic set.

The wording of every template here is this project's own.
"""
import re
from typing import Dict, List, Sequence, Tuple, Union

ClassNames = Tuple[Tuple[str, ...], ...]  # per class, its synonyms

# General photo prompts: the medium, quality, framing and setting vary, so that averaging over them
# keeps what the class name contributes and washes out the rest.
GENERAL_TEMPLATES = (
    'a photo of a {}.',
    'a close-up photo of the {}.',
    'a snapshot showing a {}.',
    'an everyday picture of a {}.',
    'a {} photographed outdoors.',
    'a {} photographed indoors.',
    'a blurred shot of a {}.',
    'a sharp, well-lit photo of a {}.',
    'a grainy, low-quality picture of a {}.',
    'a picture of a {} taken from far away.',
    'a pencil sketch of a {}.',
    'a painting that shows a {}.',
    'a cartoon version of a {}.',
    'a toy model of a {}.',
    'the {} in the middle of the frame.',
    'a cropped image of a {}.',
    'one example of a {}.',
    'there is a {} in this picture.',
)

# The synthetic set's text tower knows only its generated vocabulary (data/synthetic/vocab.txt), so
# these use only words its caption grammars produce; any other word would become [UNK].
SYNTHETIC_TEMPLATES = (
    'a photo of a {}.',
    'an image of a {}.',
    'the picture shows a {}.',
    'in the picture there is a {}.',
)

TEMPLATE_SETS: Dict[str, Tuple[str, ...]] = {
    'general': GENERAL_TEMPLATES,
    'synthetic': SYNTHETIC_TEMPLATES,
}

# Fashion-MNIST's ten classes in label order, in the lower-case words a caption would use.
FASHION_MNIST_CLASSES = ('t-shirt', 'trousers', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker',
                         'bag', 'ankle boot')

# ImageNet classes whose first synonym is shared with another class ("crane" the bird and the
# machine, "maillot" the dancer's tights and the swimsuit); keyed by class index.
IMAGENET_DISAMBIGUATION = {
    134: 'crane bird',
    517: 'construction crane',
    638: "dancer's tights",
    639: 'tank suit',
}

# Template slot words per attribute of the synthetic concepts, as ``CaptionGrammar`` names its tables.
_SYNTHETIC_TABLES = {'shape': 'shapes', 'colour': 'colours', 'position': 'positions', 'size': 'sizes'}

_ARTICLE_BEFORE_SLOT = re.compile(r'\b[aA] $')


# --------------------------------------------------------------------------------------------- templates

def resolve_templates(spec: Union[str, Sequence[str]], key: str = 'model.templates') -> Tuple[str, ...]:
    """A template set by name, or a list of templates, checked to have exactly one ``{}`` slot each."""
    if isinstance(spec, str):
        if spec not in TEMPLATE_SETS:
            raise ValueError(f'{key}: unknown template set {spec!r}; known: {sorted(TEMPLATE_SETS)} '
                             '(or give a list of strings with one {} slot)')
        return TEMPLATE_SETS[spec]
    templates = tuple(spec)
    if not templates:
        raise ValueError(f'{key}: the template list is empty')
    for template in templates:
        if not isinstance(template, str) or template.count('{}') != 1 or template.count('{') != 1:
            raise ValueError(f'{key}: every template needs exactly one {{}} slot for the class name, '
                             f'got {template!r}')
    return templates


def fill_template(template: str, name: str) -> str:
    """The template with ``name`` in its slot; an "a" right before the slot becomes "an" before a vowel."""
    before, after = template.split('{}')
    if name[:1].lower() in tuple('aeiou') and _ARTICLE_BEFORE_SLOT.search(before):
        before = before[:-1] + 'n '
    return before + name + after


# ------------------------------------------------------------------------------------------ class names

def resolve_classnames(spec: Union[str, Sequence], key: str = 'model.classnames') -> ClassNames:
    """A named set, or a list whose entries are a name or a list of synonyms, as tuples of synonyms."""
    if isinstance(spec, str):
        return named_classnames(spec, key)
    classes = []
    for index, entry in enumerate(spec):
        synonyms = (entry,) if isinstance(entry, str) else tuple(entry)
        if not synonyms or not all(isinstance(name, str) and name.strip() for name in synonyms):
            raise ValueError(f'{key}[{index}]: a class needs a non-empty name or list of names, got {entry!r}')
        classes.append(synonyms)
    if not classes:
        raise ValueError(f'{key}: the class list is empty')
    return tuple(classes)


def named_classnames(name: str, key: str = 'model.classnames') -> ClassNames:
    if name == 'imagenet':
        return tuple((class_name,) for class_name in imagenet_classnames())
    if name == 'fashion_mnist':
        return tuple((class_name,) for class_name in FASHION_MNIST_CLASSES)
    prefix, _, attribute = name.rpartition('_')
    if attribute in _SYNTHETIC_TABLES and prefix:
        return synthetic_classnames(attribute, domain=None if prefix == 'synthetic' else prefix, key=key)
    raise ValueError(f"{key}: unknown class-name set {name!r}; known: 'imagenet', 'fashion_mnist', "
                     f"'synthetic_<attribute>' and '<synth_a|synth_b>_<attribute>' with attribute in "
                     f'{sorted(_SYNTHETIC_TABLES)} (or give a list of names)')


def imagenet_classnames() -> List[str]:
    """One readable name per ImageNet-1k class, in timm's (synset-sorted) label order.

    The first synonym of timm's bundled WordNet description ("tench, Tinca tinca" -> "tench"), with
    ``IMAGENET_DISAMBIGUATION`` for the first synonyms that two classes share.
    """
    from timm.data import ImageNetInfo
    info = ImageNetInfo()
    names = [IMAGENET_DISAMBIGUATION.get(index, info.index_to_description(index).split(',')[0].strip())
             for index in range(info.num_classes())]
    check_unique(names, 'imagenet class names')
    return names


def synthetic_classnames(attribute: str, domain: Union[str, None] = None,
                         key: str = 'model.classnames') -> ClassNames:
    """The values of one attribute of the synthetic concepts, in ``synthetic_scenes`` order, each with
    the words the caption grammars use for it: one domain's (``domain``) or both domains' (None).

    Domain B never says "circle" (it says "disc" or "orb"), so a prompt with the canonical word alone
    would ask its captions' text tower about a word it has only seen in the other domain.
    """
    from zerovl.utils.synthetic_vocabulary import COLOURS, GRAMMARS, POSITIONS, SHAPES, SIZES
    values = {'shape': SHAPES, 'colour': tuple(COLOURS), 'position': POSITIONS, 'size': SIZES}[attribute]
    if domain is not None and domain not in GRAMMARS:
        raise ValueError(f'{key}: unknown synthetic domain {domain!r}; known: {sorted(GRAMMARS)}')
    grammars = [GRAMMARS[domain]] if domain else list(GRAMMARS.values())
    table = _SYNTHETIC_TABLES[attribute]
    return tuple(tuple(dict.fromkeys(word for grammar in grammars for word in getattr(grammar, table)[value]))
                 for value in values)


def check_unique(names: Sequence[str], what: str) -> None:
    seen: Dict[str, int] = {}
    for index, name in enumerate(names):
        if name in seen:
            raise ValueError(f'{what}: classes {seen[name]} and {index} are both called {name!r}')
        seen[name] = index
