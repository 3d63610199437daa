import pickle
import shutil

import numpy as np
import pytest

from zerovl.datasets.transforms import Tokenize
from zerovl.utils.tokenizer import build_tokenizer
from zerovl.utils.tokenizer import wordpiece_from_vocab

from image_text_helpers import VOCAB


def ids(*tokens):
    return [VOCAB.index(token) for token in tokens]


def test_vocab_file_is_really_used(vocab_file):
    tokenizer = build_tokenizer(vocab_file)
    assert tokenizer.convert_tokens_to_ids('photo') == VOCAB.index('photo')
    # Lower-cased, split into WordPieces, no [UNK] for known words.
    assert tokenizer('A Photo of red CATS.')['input_ids'] == ids('[CLS]', 'a', 'photo', 'of', 'red', 'cat', '##s',
                                                                '.', '[SEP]')


def test_folder_holding_only_a_vocab(vocab_file, tmp_path):
    shutil.copy(vocab_file, tmp_path / 'vocab.txt')
    assert build_tokenizer(str(tmp_path)).convert_tokens_to_ids('dog') == VOCAB.index('dog')


def test_pads_to_max_length(vocab_file):
    results = Tokenize(vocab_file, max_length=8)(dict(caption='a red cat'))
    assert results['input_ids'].dtype == np.int64 and results['attention_mask'].dtype == np.int64
    assert results['input_ids'].tolist() == ids('[CLS]', 'a', 'red', 'cat', '[SEP]', '[PAD]', '[PAD]', '[PAD]')
    assert results['attention_mask'].tolist() == [1, 1, 1, 1, 1, 0, 0, 0]


def test_truncates_to_max_length_keeping_sep(vocab_file):
    results = Tokenize(vocab_file, max_length=5)(dict(caption='a photo of a red dog'))
    assert results['input_ids'].tolist() == ids('[CLS]', 'a', 'photo', 'of', '[SEP]')
    assert results['attention_mask'].tolist() == [1] * 5


def test_unknown_words_become_unk(vocab_file):
    results = Tokenize(vocab_file, max_length=4)(dict(caption='zebra'))
    assert results['input_ids'].tolist() == ids('[CLS]', '[UNK]', '[SEP]', '[PAD]')


def test_tokenizer_is_lazy_and_not_pickled(vocab_file):
    transform = Tokenize(vocab_file)
    assert transform._tokenizer is None
    transform(dict(caption='a cat'))
    assert transform._tokenizer is not None
    restored = pickle.loads(pickle.dumps(transform))
    assert restored._tokenizer is None
    assert restored(dict(caption='a cat'))['input_ids'][:3].tolist() == ids('[CLS]', 'a', 'cat')


def test_a_tokenizer_that_ignores_the_file_is_caught(vocab_file, monkeypatch):
    import transformers

    class IgnoresVocab(transformers.BertTokenizer):
        def __init__(self, vocab=None, **kwargs):
            super().__init__(**kwargs)  # drops the file, as vocab_file= does in transformers 5

    monkeypatch.setattr(transformers, 'BertTokenizer', IgnoresVocab)
    with pytest.raises(RuntimeError, match='did not load'):
        wordpiece_from_vocab(vocab_file)


def test_missing_tokenizer_path_is_named(tmp_path):
    # Hugging Face would answer "Repo id must be in the form ..." about a mistyped local path.
    missing = tmp_path / 'pretrained' / 'minilm'
    with pytest.raises(FileNotFoundError, match=rf"tokenizer '{missing}' not found: no such file or folder"):
        build_tokenizer(str(missing))
    with pytest.raises(FileNotFoundError, match=r"tokenizer '\./no/such/vocab\.txt' not found"):
        build_tokenizer('./no/such/vocab.txt')
