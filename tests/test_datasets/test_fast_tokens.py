"""Tokenize and CaptionAugment through the fast tokenizer's backend give what the tokenizer's own calls give."""
import numpy as np
import pytest

from zerovl.datasets.transforms import CaptionAugment, Tokenize
from zerovl.utils.tokenizer import build_tokenizer
from zerovl.datasets.transforms.fast_tokens import fixed_length_encoder, piece_splitter

# Plain, cased, accented, punctuated, special-token, unknown-word, empty, whitespace and over-long captions.
CAPTIONS = ['a red square.', 'A Photo of a CAT', 'nas dog', 'cäfé  a  Dog!', 'a [MASK] of a dog', 'zebra, a cat',
            '', '   ', 'a\tred\ncat', '番茄 a cat', ' '.join(['a photo of a red cat'] * 20), '[CLS] a [SEP] [PAD]']


@pytest.fixture(scope='module')
def tokenizer(vocab_file):
    built = build_tokenizer(vocab_file)
    assert built.is_fast  # otherwise these tests would compare the slow path with itself
    return built


@pytest.mark.parametrize('max_length', [4, 8, 25])
def test_fixed_length_encoder_gives_the_tokenizer_call(tokenizer, vocab_file, max_length):
    encoder = fixed_length_encoder(tokenizer, max_length)
    transform = Tokenize(vocab_file, max_length=max_length)
    for caption in CAPTIONS:
        expected = tokenizer(caption, padding='max_length', truncation=True, max_length=max_length,
                             return_attention_mask=True)
        encoding = encoder.encode(caption)
        assert (encoding.ids, encoding.attention_mask) == (expected['input_ids'], expected['attention_mask']), caption
        results = transform(dict(caption=caption))
        assert results['input_ids'].tolist() == expected['input_ids'] and results['input_ids'].dtype == np.int64
        assert results['attention_mask'].tolist() == expected['attention_mask']


def test_the_tokenizers_own_backend_is_left_as_it_was(tokenizer):
    before = (tokenizer.backend_tokenizer.truncation, tokenizer.backend_tokenizer.padding)
    fixed_length_encoder(tokenizer, 5).encode('a cat')
    assert (tokenizer.backend_tokenizer.truncation, tokenizer.backend_tokenizer.padding) == before


def test_piece_splitter_gives_tokenize(tokenizer):
    split = piece_splitter(tokenizer)
    for caption in CAPTIONS:
        assert split(caption) == tokenizer.tokenize(caption), caption


def test_slow_tokenizers_keep_their_own_methods(vocab_file):
    class Slow:
        is_fast = False
    assert fixed_length_encoder(Slow(), 8) is None and piece_splitter(Slow()) is None
    transform = Tokenize(vocab_file, max_length=8)
    transform._encoder = False  # what the encoder property records for a slow tokenizer
    expected = Tokenize(vocab_file, max_length=8)(dict(caption='a red cat'))
    assert transform(dict(caption='a red cat'))['input_ids'].tolist() == expected['input_ids'].tolist()


def test_a_caption_that_is_no_string_is_named(vocab_file):
    with pytest.raises(TypeError, match='caption must be a str, got float: nan'):
        Tokenize(vocab_file)(dict(caption=float('nan')))


def test_caption_augment_through_the_backend_is_the_same_seed_for_seed(vocab_file):
    fast = CaptionAugment(vocab_file, mask_prob=0.2, random_prob=0.1, delete_prob=0.2)
    slow = CaptionAugment(vocab_file, mask_prob=0.2, random_prob=0.1, delete_prob=0.2)
    slow._split = slow.tokenizer.tokenize  # the tokenizer's own method, as before the backend path
    for seed, caption in enumerate(CAPTIONS * 5):
        np.random.seed(seed)
        expected = slow.augment(caption)
        np.random.seed(seed)
        assert fast.augment(caption) == expected


def test_pieces_are_not_padded_by_an_earlier_call_through_the_tokenizer(vocab_file):
    """A tokenizer call with padding leaves it set on the tokenizer's backend; the splitter has its own."""
    augment = CaptionAugment(vocab_file)
    augment.tokenizer('a cat', padding='max_length', max_length=10, truncation=True)
    assert augment.pieces('a red cat') == ['a', 'red', 'cat']
