"""``RetrievalMetric``: MMEngine's evaluator interface to :func:`zerovl.evaluation.retrieval.retrieval_metrics`.

It keeps one compact CPU record per (image, caption) pair while the test loop runs, and at the end groups
them by dataset, keeps one embedding per image and ranks on the chosen device.
"""
from typing import Any, Dict, Optional, Sequence

from mmengine.evaluator import BaseMetric

from zerovl.registry import METRICS
from zerovl.utils.device import resolve_device, training_device
from .pair_records import dedupe_images, group_by_dataset, pair_record
from .retrieval import check_chunk_size, check_max_chunk_bytes, retrieval_metrics


@METRICS.register_module()
class RetrievalMetric(BaseMetric):
    """ZeroVL zero-shot retrieval recalls per evaluation dataset, keyed ``{dataset_name}/{metric}``.

    ``process`` takes the model's predict outputs, one dict per (image, caption) pair with ``image_embed``,
    ``text_embed`` (1-D), ``image_id`` and ``dataset_name``. ``compute_metrics`` groups the pairs by
    dataset, keeps one embedding per ``image_id`` and returns ``{dataset}/i2t_R@{1,5,10}``,
    ``{dataset}/t2i_R@{1,5,10}``, ``{dataset}/rsum``, plus ``mean_rsum`` when there are several datasets.

    Key prefix: ``BaseMetric.__init__`` sets ``self.prefix = prefix or self.default_prefix`` and warns when
    that is None; ``BaseMetric.evaluate`` prepends ``prefix + '/'`` only when the prefix is truthy
    (mmengine 0.10.7, mmengine/evaluator/metric.py lines 54-62 and 135-139). ``default_prefix = ''`` thus
    gives keys exactly ``{dataset}/{metric}`` without the warning; a config's ``prefix='x'`` gives
    ``x/{dataset}/{metric}``.

    Distributed evaluation is exact, with nothing counted twice:

    * ``DefaultSampler(round_up=True)`` pads the index list to a multiple of the world size by repeating
      its head, then gives rank r the indices ``r, r + W, r + 2W, ...`` (mmengine/dataset/sampler.py
      lines 79-85), so the last shards hold copies of the first pairs.
    * ``ValLoop``/``TestLoop`` call ``evaluate(len(dataset))`` (mmengine/runner/loops.py lines 382, 466);
      ``BaseMetric.evaluate`` -> ``collect_results`` (metric.py lines 121-128) zips the ranks' result lists
      back in round-robin order, which undoes the stride split, and keeps the first ``size`` entries
      (mmengine/dist/dist.py lines 1030-1035 for cpu, 1054-1059 for gpu): exactly the dataset once, in
      order, padding dropped. ``compute_metrics`` then runs on rank 0 only and its dict is broadcast to all
      ranks (metric.py lines 130-144).
    * This holds only if ``self.results`` holds exactly one entry per dataset item in sampler order,
      which is why ``process`` appends one record per pair (never one per batch) and the dataset must be
      indexed by pair. Padded copies cannot be recognised afterwards (a pair has no unique id here, and
      dedupe by ``image_id`` would not remove a repeated *caption*), so the truncation is what prevents
      double counting; evaluating with a sampler that pads without this truncation would bias the recalls.
      With one process ``collect_results`` returns ``results[:size]`` (dist.py line 989).

    Where the ranks are computed: ``device='auto'`` (the default) follows the run's device (the GPU when
    one is visible, unless the run is pinned to the CPU: ``zerovl.utils.device``), ``'cpu'`` or ``'cuda'``
    pin it (``'cuda'`` without a GPU is an error at construction).
    The records stay on the CPU while they are collected (``collect_device``); rank 0 moves one dataset's
    deduplicated embeddings to ``device`` at a time. ``max_chunk_bytes`` lowers ``chunk_size`` so that the
    chunk's working memory stays within it (see ``retrieval_metrics``), e.g. on a GPU shared with training.
    """

    default_prefix: Optional[str] = ''

    def __init__(self, chunk_size: int = 1024, device: str = 'auto', max_chunk_bytes: Optional[int] = None,
                 collect_device: str = 'cpu', prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        check_chunk_size(chunk_size)
        check_max_chunk_bytes(max_chunk_bytes)
        self.chunk_size = chunk_size
        self.max_chunk_bytes = max_chunk_bytes
        # Checked now, so that 'cuda' on a machine without one fails when the config is built, not after
        # the whole test set has been embedded.
        resolve_device(device, key='RetrievalMetric device')
        self.device = device

    def compute_device(self) -> str:
        """The device the ranks are computed on. 'auto' is resolved when the metric runs, so that it follows
        the run's device as pinned at that moment (``pinned_device`` in a test or notebook included)."""
        if self.device != 'auto':
            return self.device
        return 'cuda' if training_device() == 'cuda' else 'cpu'   # other MMEngine devices: not supported here

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        # One record per pair: collect_results' truncation to the dataset size counts entries (see above).
        self.results.extend(pair_record(sample) for sample in data_samples)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        if not results:
            raise ValueError('RetrievalMetric received no predictions to evaluate')
        metrics: Dict[str, float] = {}
        rsums = []
        for dataset_name, records in group_by_dataset(results).items():
            image_embeds, text_embeds, text_to_image = dedupe_images(records)
            scores = retrieval_metrics(image_embeds, text_embeds, text_to_image, self.chunk_size,
                                       device=self.compute_device(), max_chunk_bytes=self.max_chunk_bytes)
            metrics.update({f'{dataset_name}/{name}': value for name, value in scores.items()})
            rsums.append(scores['rsum'])
        if len(rsums) > 1:
            metrics['mean_rsum'] = sum(rsums) / len(rsums)
        return metrics
