"""Evaluation metrics; importing this package registers them in ``zerovl.registry.METRICS``."""
from .report import format_metrics_table
from .retrieval import RetrievalMetric, retrieval_metrics

__all__ = ['RetrievalMetric', 'retrieval_metrics', 'format_metrics_table']
