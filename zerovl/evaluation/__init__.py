"""Evaluation metrics; importing this package registers them in ``zerovl.registry.METRICS``."""
from .retrieval import RetrievalMetric, retrieval_metrics

__all__ = ['RetrievalMetric', 'retrieval_metrics']
