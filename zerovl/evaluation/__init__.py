"""Evaluation metrics; importing this package registers them in ``zerovl.registry.METRICS``."""
from .accuracy import ClassificationAccuracy, topk_accuracy
from .domain_gap import DomainGapMetric, domain_gap
from .report import format_metrics_table
from .retrieval import retrieval_metrics
from .retrieval_metric import RetrievalMetric

__all__ = ['RetrievalMetric', 'DomainGapMetric', 'domain_gap', 'retrieval_metrics', 'ClassificationAccuracy', 'topk_accuracy',
           'format_metrics_table']
