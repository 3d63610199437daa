"""Tokenizers named by a string: a Hugging Face hub name, a saved tokenizer folder or a WordPiece ``vocab.txt``.

Shared by the caption pipeline (``Tokenize``, ``CaptionAugment``) and by the models that embed text
themselves (zero-shot prompts), so neither has to import the other.
"""
import inspect
import os.path as osp
from typing import List, Optional

# Files that make a folder a saved Hugging Face tokenizer rather than a bare vocabulary folder.
_TOKENIZER_FILES = ('tokenizer.json', 'tokenizer_config.json')


def build_tokenizer(name_or_path: str):
    """A Hugging Face tokenizer from a hub name, a saved tokenizer folder or a WordPiece vocab file.

    A ``.txt`` file, or a folder holding only a ``vocab.txt``, gives an uncased BERT WordPiece
    tokenizer (the bert-base-uncased scheme ZeroVL trains with); anything else goes to
    ``AutoTokenizer.from_pretrained``.
    """
    vocab_file = _vocab_file(name_or_path)
    if vocab_file is not None:
        return wordpiece_from_vocab(vocab_file)
    if _looks_like_a_path(name_or_path) and not osp.exists(osp.expanduser(name_or_path)):
        # Checked here: Hugging Face would answer "Repo id must be in the form ..." about a typo'd path.
        raise FileNotFoundError(f'tokenizer {name_or_path!r} not found: no such file or folder '
                                f'({osp.abspath(osp.expanduser(name_or_path))}); give a saved tokenizer folder, '
                                f'a WordPiece vocab.txt, or a Hugging Face hub name')
    from transformers import AutoTokenizer
    try:
        return AutoTokenizer.from_pretrained(name_or_path)
    except (OSError, ValueError) as error:  # HFValidationError, a repo missing from hub and cache
        raise OSError(f'tokenizer {name_or_path!r}: neither a file or folder here '
                      f'({osp.abspath(name_or_path)}) nor a loadable Hugging Face hub name ({error})') from error


def _looks_like_a_path(name: str) -> bool:
    """True for what can only be a path: a hub id is 'name' or 'namespace/name', never more."""
    return (name.startswith(('/', '.', '~')) or name.count('/') > 1 or osp.sep != '/' and osp.sep in name
            or name.endswith('.txt'))


def _vocab_file(name_or_path: str) -> Optional[str]:
    if osp.isfile(name_or_path) and name_or_path.endswith('.txt'):
        return name_or_path
    if osp.isdir(name_or_path) and not any(
            osp.isfile(osp.join(name_or_path, name)) for name in _TOKENIZER_FILES):
        candidate = osp.join(name_or_path, 'vocab.txt')
        return candidate if osp.isfile(candidate) else None
    return None


def wordpiece_from_vocab(vocab_file: str):
    """An uncased BERT WordPiece tokenizer over ``vocab_file``, checked to really use that file."""
    from transformers import BertTokenizer, BertTokenizerFast

    # transformers 5 takes the vocabulary as ``vocab=`` and silently swallows ``vocab_file=``,
    # leaving only the special tokens so that every word becomes [UNK]; transformers 4 knows only
    # ``vocab_file=``. Ask the constructor which one it has instead of pinning a version.
    if 'vocab' in inspect.signature(BertTokenizer.__init__).parameters:
        tokenizer = BertTokenizer(vocab=vocab_file, do_lower_case=True)
    else:
        tokenizer = BertTokenizerFast(vocab_file=vocab_file, do_lower_case=True)
    _check_vocab_loaded(tokenizer, vocab_file)
    return tokenizer


def _vocab_tokens(vocab_file: str) -> List[str]:
    with open(vocab_file, encoding='utf-8') as f:
        return [line.rstrip('\r\n') for line in f if line.strip()]


def _check_vocab_loaded(tokenizer, vocab_file: str) -> None:
    # A tokenizer that ignored the file still "works", it just trains on [UNK]s; fail here instead.
    known = tokenizer.get_vocab()
    missing = [token for token in _vocab_tokens(vocab_file) if token not in known]
    if missing:
        raise RuntimeError(f'{type(tokenizer).__name__} did not load {vocab_file}: {len(missing)} of its '
                           f'tokens are unknown to it (e.g. {missing[:3]})')
