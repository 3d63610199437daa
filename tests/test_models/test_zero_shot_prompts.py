"""Prompt templates and class-name sets: well formed, unique, and in the synthetic vocabulary."""
import pytest

from zerovl.datasets.synthetic import GRAMMARS, basic_tokens, build_vocab
from zerovl.datasets.synthetic_concepts import ATTRIBUTE_CLASSES
from zerovl.utils.tokenizer import build_tokenizer
from zerovl.models.zero_shot_prompts import (FASHION_MNIST_CLASSES, GENERAL_TEMPLATES, TEMPLATE_SETS, fill_template,
                                             imagenet_classnames, resolve_classnames, resolve_templates)


def test_every_template_set_has_one_slot_per_template_and_no_repeats():
    assert 10 <= len(GENERAL_TEMPLATES) <= 20
    for name, templates in TEMPLATE_SETS.items():
        assert resolve_templates(name) == templates
        assert len(set(templates)) == len(templates), name


def test_fill_template_puts_an_before_a_vowel_only_at_the_slot():
    assert fill_template('a photo of a {}.', 'orange') == 'a photo of an orange.'
    assert fill_template('a photo of a {}.', 'red circle') == 'a photo of a red circle.'
    assert fill_template('A {} here', 'apple') == 'An apple here'
    assert fill_template('the {}.', 'apple') == 'the apple.'
    assert fill_template('{} on a table', 'egg') == 'egg on a table'


def test_imagenet_names_are_unique_readable_and_in_synset_order():
    from timm.data import ImageNetInfo
    info = ImageNetInfo()
    names = imagenet_classnames()
    assert len(names) == 1000 == len(set(names))
    assert names[0] == 'tench' and names[1] == 'goldfish'  # the first synonym of "tench, Tinca tinca"
    assert {names[134], names[517]} == {'crane bird', 'construction crane'}  # WordNet's two "crane"s
    # The label order is the sorted synset order, which sorted ImageNet class folders also give.
    assert info.label_names() == sorted(info.label_names())
    assert resolve_classnames('imagenet')[0] == ('tench',)


def test_fashion_mnist_names_follow_the_label_order():
    from zerovl.datasets.fashion_mnist import CLASSES
    assert len(FASHION_MNIST_CLASSES) == len(CLASSES) == 10
    for readable, official in zip(FASHION_MNIST_CLASSES, CLASSES):
        assert readable == readable.lower() and readable.split()[0][:4] == official.lower()[:4]


@pytest.mark.parametrize('attribute', sorted(ATTRIBUTE_CLASSES))
def test_synthetic_names_are_each_domains_caption_words_in_label_order(attribute):
    both = resolve_classnames(f'synthetic_{attribute}')
    assert len(both) == len(ATTRIBUTE_CLASSES[attribute])
    for value, synonyms in zip(ATTRIBUTE_CLASSES[attribute], both):
        table = {'shape': 'shapes', 'colour': 'colours', 'position': 'positions', 'size': 'sizes'}[attribute]
        for domain, grammar in GRAMMARS.items():
            own = getattr(grammar, table)[value]
            assert resolve_classnames(f'{domain}_{attribute}')[ATTRIBUTE_CLASSES[attribute].index(value)] == own
            assert set(own) <= set(synonyms)


def test_synthetic_prompts_never_leave_the_synthetic_vocabulary(tmp_path):
    vocab = tmp_path / 'vocab.txt'
    vocab.write_text('\n'.join(build_vocab()) + '\n')
    tokenizer = build_tokenizer(str(vocab))
    prompts = [fill_template(template, name) for template in TEMPLATE_SETS['synthetic']
               for attribute in ATTRIBUTE_CLASSES for names in resolve_classnames(f'synthetic_{attribute}')
               for name in names]
    assert {word for prompt in prompts for word in basic_tokens(prompt)} <= set(build_vocab())
    encoded = tokenizer(prompts, add_special_tokens=False)['input_ids']
    assert all(tokenizer.unk_token_id not in ids for ids in encoded)
