"""The generated two-domain image-caption set (offline: ``tools/dataset_converters/make_synthetic.py``)."""
from .generator import (ANNO_HEADER, CONCEPTS_HEADER, FORMAT_VERSION, GRAMMARS, SPLITS, basic_tokens, build_vocab,
                        make_synthetic_dataset)
from .scenes import ALL_CONCEPTS, DOMAINS, Concept, render_scene

__all__ = ['make_synthetic_dataset', 'build_vocab', 'basic_tokens', 'GRAMMARS', 'ANNO_HEADER', 'CONCEPTS_HEADER',
           'FORMAT_VERSION', 'SPLITS', 'ALL_CONCEPTS', 'DOMAINS', 'Concept', 'render_scene']
