"""Fixtures for the image-text data path: a ZeroVL-layout source in tmp_path and a WordPiece vocab."""
from pathlib import Path

import pytest
from mmengine.registry import DefaultScope

import zerovl.datasets  # noqa: F401  (registers datasets, transforms and the collate function)
from image_text_helpers import VOCAB, make_source
from shard_helpers import VOCAB as SHARD_VOCAB


@pytest.fixture
def toy_root(tmp_path) -> Path:
    make_source(tmp_path, 'toy')
    return tmp_path


@pytest.fixture(scope='session')
def vocab_file(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp('vocab') / 'vocab.txt'
    path.write_text('\n'.join(VOCAB) + '\n', encoding='utf-8')
    return str(path)


@pytest.fixture
def zerovl_scope():
    """Resolve config type names in zerovl's registries, as the Runner does with default_scope='zerovl'."""
    with DefaultScope.overwrite_default_scope('zerovl'):
        yield


@pytest.fixture(scope='session')
def shard_vocab(tmp_path_factory) -> str:
    """A WordPiece vocabulary for the synthetic shards' captions ('synthetic sample {i}')."""
    path = tmp_path_factory.mktemp('shard_vocab') / 'vocab.txt'
    path.write_text('\n'.join(SHARD_VOCAB) + '\n', encoding='utf-8')
    return str(path)
