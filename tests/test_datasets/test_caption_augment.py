"""CaptionAugment: ZeroVL's per-token mask / random / delete policy and its detokeniser."""
import math
import pickle
from collections import Counter

import numpy as np
import pytest

from zerovl.datasets.transforms import CaptionAugment, Tokenize
from zerovl.utils.tokenizer import build_tokenizer
from zerovl.datasets.transforms.caption_augment import (DELETE, KEEP, MASK, RANDOM, apply_outcomes,
                                                        draw_outcomes, join_pieces)
from zerovl.registry import TRANSFORMS

from image_text_helpers import VOCAB

SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']
# Enough filler entries that a random replacement is almost never the caption word itself (which would
# be indistinguishable from "kept"): that happens for 1 in ~1,000 replacements, far below the tolerances.
FILLERS = [f'filler{i}' for i in range(1000)]


def write_vocab(path, tokens) -> str:
    path.write_text('\n'.join(tokens) + '\n', encoding='utf-8')
    return str(path)


@pytest.fixture(scope='module')
def flat_vocab(tmp_path_factory) -> str:
    """Single-piece words only (no '##' entries), so every surviving token is exactly one output word."""
    return write_vocab(tmp_path_factory.mktemp('flat') / 'vocab.txt', SPECIALS + ['cat'] + FILLERS)


@pytest.fixture(scope='module')
def long_word_vocab(tmp_path_factory) -> str:
    # 'unbelievable' is four pieces: un ##be ##liev ##able.
    tokens = SPECIALS + ['a', 'dog', 'un', '##be', '##liev', '##able']
    return write_vocab(tmp_path_factory.mktemp('long') / 'vocab.txt', tokens)


def count_outcomes(caption_out: str, num_in: int) -> dict:
    """Outcome counts for an input of ``num_in`` copies of 'cat' over ``flat_vocab``.

    With one repeated single-piece word and no '##' entries, every non-deleted token yields exactly one
    output word, so the outcomes can be counted without aligning: deletions are the missing words,
    masks the '[MASK]' words, replacements every other word that is not 'cat'.
    """
    words = caption_out.split()
    counts = Counter(words)
    return dict(mask=counts['[MASK]'], random=len(words) - counts['cat'] - counts['[MASK]'],
                delete=num_in - len(words))


@pytest.mark.parametrize('rates', [(0.10, 0.02, 0.08), (0.30, 0.15, 0.25)])
def test_rates(flat_vocab, rates):
    mask_prob, random_prob, delete_prob = rates
    num_tokens = 20000
    aug = CaptionAugment(flat_vocab, mask_prob=mask_prob, random_prob=random_prob, delete_prob=delete_prob)
    np.random.seed(0)
    counts = count_outcomes(aug.augment(' '.join(['cat'] * num_tokens)), num_tokens)
    for name, prob in zip(('mask', 'random', 'delete'), rates):
        sigma = math.sqrt(num_tokens * prob * (1 - prob))
        assert abs(counts[name] - num_tokens * prob) < 4 * sigma, (name, counts)


def test_outcomes_follow_the_original_split_of_the_selected_mass():
    # The original: u < 0.2 selects; r = u / 0.2 -> mask if r < 0.5, random if r < 0.6, else delete.
    np.random.seed(3)
    u = np.random.random_sample(5000)
    r = u / 0.2
    expected = np.where(u >= 0.2, KEEP, np.where(r < 0.5, MASK, np.where(r < 0.6, RANDOM, DELETE)))
    np.random.seed(3)
    np.testing.assert_array_equal(draw_outcomes(5000, 0.10, 0.02, 0.08), expected)


def test_zero_rates_are_identity(vocab_file):
    aug = CaptionAugment(vocab_file, mask_prob=0.0, random_prob=0.0, delete_prob=0.0)
    tokenize = Tokenize(vocab_file, max_length=12)
    caption = 'A photo of a red cat. NAs'
    out = aug.augment(caption)
    # Lower-cased and split at punctuation by the tokenizer; 'nas' (na ##s) rejoined into one word.
    assert out == 'a photo of a red cat . nas'
    ids = lambda text: tokenize(dict(caption=text))['input_ids'].tolist()  # noqa: E731
    assert ids(out) == ids(caption)


def test_mask_comes_back_as_the_mask_id(vocab_file):
    aug = CaptionAugment(vocab_file, mask_prob=1.0, random_prob=0.0, delete_prob=0.0)
    # Every piece is masked, the '##s' of 'nas' too; a masked piece absorbs nothing.
    out = aug.augment('a red nas')
    assert out == '[MASK] [MASK] [MASK] [MASK]'
    input_ids = Tokenize(vocab_file, max_length=8)(dict(caption=out))['input_ids'].tolist()
    mask_id = build_tokenizer(vocab_file).mask_token_id
    assert mask_id == VOCAB.index('[MASK]')
    assert input_ids == [VOCAB.index('[CLS]')] + [mask_id] * 4 + [VOCAB.index('[SEP]'), 0, 0]


def test_all_deleted_gives_an_empty_caption(vocab_file):
    aug = CaptionAugment(vocab_file, mask_prob=0.0, random_prob=0.0, delete_prob=1.0)
    assert aug.augment('a red cat') == ''


def augmented(pieces, outcomes, vocab=('unused',)):
    return join_pieces(apply_outcomes(pieces, np.array(outcomes), list(vocab)))


def test_orphan_pieces_of_a_deleted_first_word_are_dropped():
    assert augmented(['na', '##s', 'cat'], [DELETE, KEEP, KEEP]) == 'cat'


def test_pieces_of_a_deleted_word_join_the_word_before():
    # The original deletes before it detokenises, so '##s' follows 'a' and is absorbed: 'a na ##s' -> 'as'.
    assert augmented(['a', 'na', '##s'], [KEEP, DELETE, KEEP]) == 'as'


def test_pieces_of_a_masked_word_are_dropped():
    assert augmented(['na', '##s', 'cat'], [MASK, KEEP, KEEP]) == '[MASK] cat'


def test_random_first_piece_absorbs_the_rest_of_the_word():
    assert augmented(['na', '##s', 'cat'], [RANDOM, KEEP, KEEP], vocab=['dog']) == 'dogs cat'


def test_random_continuation_piece_joins_the_word_before_or_is_dropped():
    assert augmented(['a', 'cat'], [KEEP, RANDOM], vocab=['##x']) == 'ax'
    assert augmented(['cat', 'a'], [RANDOM, KEEP], vocab=['##x']) == 'a'


def test_random_special_tokens_stay_literal():
    assert augmented(['a', '##s', 'cat'], [RANDOM, KEEP, KEEP], vocab=['[MASK]']) == '[MASK] cat'
    assert augmented(['a', 'cat'], [KEEP, RANDOM], vocab=['[PAD]']) == 'a [PAD]'


def test_word_of_more_than_three_pieces_is_truncated(long_word_vocab):
    assert build_tokenizer(long_word_vocab).tokenize('unbelievable') == ['un', '##be', '##liev', '##able']
    aug = CaptionAugment(long_word_vocab, mask_prob=0.0, random_prob=0.0, delete_prob=0.0)
    assert aug.augment('a unbelievable dog') == 'a unbeliev dog'
    assert join_pieces(['un', '##be']) == 'unbe'


def test_random_replacement_is_uniform_over_the_whole_vocabulary(vocab_file):
    aug = CaptionAugment(vocab_file)
    assert aug.vocab == VOCAB  # in id order, special tokens and '##' pieces included
    draws_per_entry = 1000
    num = draws_per_entry * len(VOCAB)
    np.random.seed(1)
    picks = Counter(apply_outcomes(['cat'] * num, np.full(num, RANDOM), aug.vocab))
    assert set(picks) == set(VOCAB)
    sigma = math.sqrt(num * (1 / len(VOCAB)) * (1 - 1 / len(VOCAB)))
    assert all(abs(count - draws_per_entry) < 4 * sigma for count in picks.values()), picks


def test_deterministic_under_numpy_seed(flat_vocab):
    aug = CaptionAugment(flat_vocab)
    caption = ' '.join(['cat'] * 200)

    def run(seed):
        np.random.seed(seed)
        return aug(dict(caption=caption))['caption']

    assert run(5) == run(5)
    assert run(5) != run(6)


@pytest.mark.parametrize('rates', [
    dict(mask_prob=-0.1), dict(random_prob=1.5), dict(delete_prob=float('nan')),
    dict(mask_prob=0.5, random_prob=0.3, delete_prob=0.3), dict(mask_prob='0.1'), dict(delete_prob=None),
    dict(mask_prob=True)])
def test_invalid_rates(vocab_file, rates):
    with pytest.raises(ValueError, match='CaptionAugment'):
        CaptionAugment(vocab_file, **rates)


def test_rates_summing_to_one_are_accepted(vocab_file):
    CaptionAugment(vocab_file, mask_prob=0.7, random_prob=0.2, delete_prob=0.1)


def test_tokenizer_must_be_a_name(vocab_file):
    with pytest.raises(TypeError, match='CaptionAugment'):
        CaptionAugment(build_tokenizer(vocab_file))


def test_pickles_without_its_tokenizer(vocab_file):
    aug = CaptionAugment(vocab_file)
    aug.augment('a red cat')  # builds the tokenizer and the vocabulary list
    clone = pickle.loads(pickle.dumps(aug))
    assert clone._tokenizer is None and clone._vocab is None
    np.random.seed(0)
    expected = aug.augment('a red cat photo of a dog')
    np.random.seed(0)
    assert clone.augment('a red cat photo of a dog') == expected


def test_built_from_config(vocab_file, zerovl_scope):
    aug = TRANSFORMS.build(dict(type='CaptionAugment', tokenizer=vocab_file, mask_prob=0.2))
    assert isinstance(aug, CaptionAugment)
    assert (aug.mask_prob, aug.random_prob, aug.delete_prob) == (0.2, 0.02, 0.08)
    assert 'mask_prob=0.2' in repr(aug)
