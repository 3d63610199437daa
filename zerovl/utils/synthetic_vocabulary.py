"""The words and classes of the synthetic two-domain set, apart from the code that renders and writes it.

The generator (``zerovl/datasets/synthetic/``) draws scenes and captions from these tables, and the
zero-shot prompts (``zerovl/models/zero_shot_prompts.py``) name the same classes with the same words; both
read them here, so the model package never imports the data generator.
"""
from dataclasses import dataclass
from typing import Dict, Tuple

DOMAINS = ('synth_a', 'synth_b')  # light, plain scenes / dark, textured, outlined scenes

SHAPES = ('circle', 'square', 'triangle', 'star', 'cross', 'ring', 'diamond', 'bar')
# RGB. Chosen to stay apart from each other and visible on both the light and the dark background.
COLOURS = {
    'red': (220, 30, 30),
    'orange': (245, 140, 20),
    'yellow': (240, 220, 30),
    'green': (40, 170, 60),
    'cyan': (30, 200, 220),
    'blue': (40, 70, 220),
    'purple': (140, 50, 190),
    'pink': (245, 120, 190),
}
POSITIONS = ('top left', 'top right', 'bottom left', 'bottom right')
SIZES = ('small', 'large')


@dataclass(frozen=True)
class CaptionGrammar:
    """Templates with ``{size} {colour} {shape} {pos}`` slots and per-attribute synonym lists."""
    templates: Tuple[str, ...]
    sizes: Dict[str, Tuple[str, ...]]
    colours: Dict[str, Tuple[str, ...]]
    shapes: Dict[str, Tuple[str, ...]]
    positions: Dict[str, Tuple[str, ...]]


# Domain A: descriptive full sentences, plain colour names, word order varied by where the position goes.
GRAMMAR_A = CaptionGrammar(
    templates=(
        'a photo of a {size} {colour} {shape} in the {pos} corner.',
        'a {size} {colour} {shape} sits in the {pos} corner of the picture.',
        'in the {pos} corner there is a {size} {colour} {shape}.',
        'an image of a {size} {shape}, coloured {colour}, in the {pos} corner.',
        'the picture shows a {colour} {shape} in the {pos} corner; the {shape} is {size}.',
    ),
    sizes={'small': ('small', 'little'), 'large': ('large', 'big')},
    colours={
        'red': ('red',), 'orange': ('orange',), 'yellow': ('yellow',), 'green': ('green',),
        'cyan': ('cyan', 'aqua'), 'blue': ('blue',), 'purple': ('purple',), 'pink': ('pink',),
    },
    shapes={
        'circle': ('circle', 'dot'), 'square': ('square', 'box'), 'triangle': ('triangle',),
        'star': ('star',), 'cross': ('cross', 'plus sign'), 'ring': ('ring', 'donut'),
        'diamond': ('diamond', 'rhombus'), 'bar': ('bar', 'rectangle'),
    },
    positions={
        'top left': ('top left', 'upper left'), 'top right': ('top right', 'upper right'),
        'bottom left': ('bottom left', 'lower left'), 'bottom right': ('bottom right', 'lower right'),
    },
)

# Domain B: terse tags with punctuation, no final period, and a vocabulary disjoint from A's attribute words.
GRAMMAR_B = CaptionGrammar(
    templates=(
        '{pos}: {size} {colour} {shape} on dark ground',
        '{size} {colour} {shape}, {pos}, dark textured backdrop',
        '{colour} {shape} ({size}) at {pos}',
        'dark scene - {pos} - {colour} {shape}, {size}',
        '{shape} in {colour}, {size}, {pos} quadrant',
    ),
    sizes={'small': ('tiny', 'mini'), 'large': ('huge', 'giant')},
    colours={
        'red': ('crimson', 'scarlet'), 'orange': ('amber', 'tangerine'), 'yellow': ('gold', 'lemon'),
        'green': ('emerald', 'lime'), 'cyan': ('teal', 'turquoise'), 'blue': ('azure', 'cobalt'),
        'purple': ('violet', 'plum'), 'pink': ('rose', 'magenta'),
    },
    shapes={
        'circle': ('disc', 'orb'), 'square': ('block', 'tile'), 'triangle': ('wedge', 'pyramid'),
        'star': ('pentagram', 'spark'), 'cross': ('crosshair', 'cruciform'), 'ring': ('hoop', 'loop'),
        'diamond': ('lozenge', 'kite'), 'bar': ('rod', 'slab'),
    },
    positions={
        'top left': ('top-left', 'nw'), 'top right': ('top-right', 'ne'),
        'bottom left': ('bottom-left', 'sw'), 'bottom right': ('bottom-right', 'se'),
    },
)

GRAMMARS = {'synth_a': GRAMMAR_A, 'synth_b': GRAMMAR_B}
