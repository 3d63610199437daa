"""Train straight from img2dataset's webdataset shards: several sources, debiased, streamed.

Why an ``IterableDataset`` and not a map-style index: random access to a sample inside a tar needs its
offset, and an index of every sample's offset is built by reading every shard's headers at start-up,
O(samples) in time and memory (the problem the CSV path has at 12M rows). Streaming whole shards
needs only their sample counts, which the ``_stats.json`` files give: start-up and memory are
O(shards). The price is that the dataset, not a sampler, decides the order; it does so with the same
rules (plan.py) and yields whole batches, so that every global batch comes from one source.
"""
import multiprocessing
import os.path as osp
from typing import List, Optional, Sequence, Union

from mmengine.dataset import Compose
from torch.utils.data import IterableDataset, get_worker_info

from zerovl.registry import DATASETS, FUNCTIONS
from zerovl.utils.dist import get_rank, get_world_size
from zerovl.utils.rng import iteration_seed, seed_everything
from ..bad_input_policy import DEFAULT_MAX_SKIP_RATIO, resolve_on_error
from ..collate import image_text_collate
from ..errors import BadSampleError, ShardSampleError, TooManyBadSamplesError
from .bad_inputs import ShardBadInputPolicy
from .layout import ShardInfo, list_shards, unfinished_tars
from .plan import ShardPlan, rank_batch_order
from .stream import SourceStream
from .tar_reader import TarSample, TarShard, image_member, read_caption

# Bad samples in a row, within one source stream, before the source is declared broken as a whole.
MAX_REPLACEMENT_TRIES = 100


@DATASETS.register_module()
class ShardImageTextDataset(IterableDataset):
    """Image-caption pairs from img2dataset webdataset folders, one folder per source; yields batches.

    Use it with ``batch_size=None`` and ``sampler=None`` in the DataLoader (the dataset batches) and
    ``collate_fn=dict(type='zerovl.shard_batch_collate')`` (configs/_base_/datasets/shards.py).

    Args:
        data_root: folder the source paths are relative to.
        sources: ``dict(name=..., path=...)`` per source (or a single one); ``path`` holds the
            ``*.tar`` and ``*_stats.json`` files; ``name`` is reported as ``dataset_name``.
        batch_size: per rank, as ``train_dataloader.batch_size`` elsewhere.
        num_workers: must equal the DataLoader's ``num_workers``: the plan splits shards among them.
        mode: 'debias' (each global batch from one source, drawn ∝ size), 'shuffle' (batches mix
            sources) or 'sequential' (sources, shards and samples in order).
        samples_per_epoch: None: each epoch reads every shard once (see plan.py for what is dropped);
            an int: resampled epochs of that many samples (shards drawn with replacement).
        caption_key: None reads ``{key}.txt``; a name reads that key of ``{key}.json``.
        seed: the plan's seed; the same on every rank (a config value, not a per-rank one).
        on_error, max_skip_ratio, test_mode: the bad-input policy (bad_input_policy.py): 'skip' counts
            and replaces bad samples, 'raise' stops with a ``ShardSampleError`` naming shard and key.
        rank, world_size: default to the process group.
    """

    def __init__(self, data_root: str, sources: Union[dict, Sequence[dict]], batch_size: int,
                 num_workers: int = 0, mode: str = 'debias', samples_per_epoch: Optional[int] = None,
                 caption_key: Optional[str] = None, seed: int = 0, pipeline: Sequence = (),
                 on_error: Optional[str] = None, max_skip_ratio: Optional[float] = DEFAULT_MAX_SKIP_RATIO,
                 test_mode: bool = False, rank: Optional[int] = None, world_size: Optional[int] = None) -> None:
        sources = [sources] if isinstance(sources, dict) else list(sources)
        self.names = [source['name'] for source in sources]
        self.folders = [osp.join(data_root, source['path']) for source in sources]
        self.shards: List[List[ShardInfo]] = [list_shards(folder) for folder in self.folders]
        self.rank = get_rank() if rank is None else rank
        self.plan = ShardPlan(counts=tuple(tuple(info.count for info in shards) for shards in self.shards),
                              batch_size=batch_size, world_size=get_world_size() if world_size is None else world_size,
                              num_workers=num_workers, seed=seed, mode=mode, samples_per_epoch=samples_per_epoch)
        self.caption_key = caption_key
        self.pipeline = Compose(list(pipeline))
        name = '+'.join(self.names)
        self.policy = ShardBadInputPolicy(name, resolve_on_error(on_error, test_mode), max_skip_ratio)
        self.policy.finish_loading(sum(self.plan.source_sizes), name)  # the ratio's denominator
        self._warn_unfinished()
        # Shared with forked DataLoader workers, so that persistent workers see set_epoch too.
        self._epoch = multiprocessing.Value('q', 0)
        self._resume: Optional[dict] = None
        self._observed: List[Optional[dict]] = [None] * self.plan.workers
        self._length = self.plan.epoch_length(0)  # the same every epoch (plan.py)
        if self._length == 0:
            raise ValueError(f'no full batch of {batch_size} samples per rank fits in the shards of {name} '
                             f'for {self.plan.world_size} rank(s) x {self.plan.workers} worker(s) '
                             f'(source sizes {self.plan.source_sizes}); use more shards, fewer workers or '
                             f'samples_per_epoch (resampled epochs)')

    def _warn_unfinished(self) -> None:
        for folder in self.folders:
            tars = unfinished_tars(folder)
            if tars:
                self.policy.warn(f'{len(tars)} tar(s) of {folder} have no stats file and are left out '
                                 f'(unfinished shards?): {tars[:3]}')

    def __len__(self) -> int:
        """Per-rank batches per epoch, the same on every rank and every epoch."""
        return self._length

    # ------------------------------------------------------------------ epoch and resume state

    @property
    def epoch(self) -> int:
        return int(self._epoch.value)

    def set_epoch(self, epoch: int) -> None:
        self._epoch.value = int(epoch)

    def __getstate__(self) -> dict:
        # A shared Value only travels by fork; under spawn (or any pickling) the copy gets the current
        # epoch as a value of its own, which is right for workers started anew each epoch. Persistent
        # workers under spawn would miss later set_epoch calls: the 'fork' start method
        # (env_cfg.mp_cfg.mp_start_method, zerovl's default) avoids that.
        state = dict(self.__dict__)
        state['_epoch'] = self.epoch
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._epoch = multiprocessing.Value('q', state['_epoch'])

    def observe_batch(self, data_batch: dict) -> None:
        """Note where the stream of the worker that made this (trained) batch stands after it."""
        state = data_batch.get('stream_state') if isinstance(data_batch, dict) else None
        if state is None:
            return
        if any(seen is not None and seen['epoch'] != state['epoch'] for seen in self._observed):
            self._observed = [None] * self.plan.workers  # a new epoch started
        self._observed[state['worker']] = state

    def state_dict(self) -> dict:
        """Plain data: the epoch, the batches trained (``position``), each worker's batches and stream
        positions after its last trained batch, and what the plan depends on."""
        epoch = self.epoch
        if self._resume is not None and self._resume['epoch'] == epoch:
            workers, position = self._resume['workers'], self._resume['position']
        else:
            workers = [seen if seen is not None and seen['epoch'] == epoch else None for seen in self._observed]
            position = sum(seen['batch'] for seen in workers if seen is not None)
        return dict(epoch=epoch, position=int(position), workers=list(workers), seed=self.plan.seed,
                    **self.plan.state())

    def load_state_dict(self, state: dict) -> None:
        """The next iteration of ``state['epoch']`` continues every worker's streams where they were.

        Refused when the plan differs (other shards, batch size, ranks or workers): the saved
        positions are per (rank, worker) slot and mean nothing for another split (docs/training.md).
        """
        for key, current in self.plan.state().items():
            if state.get(key) != current:
                raise ValueError(f'shard stream state was saved with {key}={state.get(key)!r}, but this run '
                                 f'has {key}={current!r}; the saved stream positions do not apply')
        if int(state['seed']) != self.plan.seed:
            raise ValueError(f"shard stream state was saved with seed {state['seed']}, this run has {self.plan.seed}")
        self.set_epoch(int(state['epoch']))
        # Positions of another epoch (a checkpoint taken at an epoch's end) do not apply to this one.
        workers = [saved if saved is not None and saved['epoch'] == int(state['epoch']) else None
                   for saved in state['workers']]
        epoch, position = int(state['epoch']), int(state['position'])
        self._resume = dict(epoch=epoch, position=position, workers=workers, first=self._next_worker(epoch, position))
        self._observed = list(workers)

    def _next_worker(self, epoch: int, position: int) -> int:
        """The worker whose batch the uninterrupted run would have yielded after ``position`` batches.

        A DataLoader always asks its worker 0 first; a resumed one must start with this worker instead,
        so the resumed workers take the roles rotated by it (``__iter__``) and the DataLoader's turns
        then follow the uninterrupted order exactly.
        """
        order = rank_batch_order([len(self.plan.worker_batches(epoch, w)) for w in range(self.plan.workers)])
        return order[position][0] if position < len(order) else 0

    # ------------------------------------------------------------------ iteration (in each worker)

    def _worker(self) -> int:
        info = get_worker_info()
        actual = 0 if info is None else info.num_workers
        if max(1, actual) != self.plan.workers:
            raise ValueError(f'ShardImageTextDataset was configured with num_workers={self.plan.num_workers} '
                             f'but the DataLoader runs {actual} workers; set both to the same value')
        return 0 if info is None else info.id

    def __iter__(self):
        worker, epoch = self._worker(), self.epoch
        saved = None
        if self._resume is not None and self._resume['epoch'] == epoch:
            worker = (worker + self._resume['first']) % self.plan.workers
            saved = self._resume['workers'][worker]
        start = 0 if saved is None else int(saved['batch'])
        positions = [(0, 0)] * len(self.names) if saved is None else [tuple(p) for p in saved['streams']]
        streams = [SourceStream(self.plan, self.shards[source], epoch, source, self.rank, worker, self.policy,
                                positions[source]) for source in range(len(self.names))]
        try:
            batches = self.plan.worker_batches(epoch, worker)
            for number in range(start, len(batches)):
                # Augmentations draw from generators seeded by the batch's place in the plan: a resumed
                # run draws what the uninterrupted one drew.
                seed_everything(iteration_seed(self.plan.seed, self.rank, number, f'shards:{epoch}:{worker}'))
                samples = [self._next_sample(streams[source]) for source, count in batches[number]
                           for _ in range(count)]
                yield dict(samples=samples,
                           stream_state=dict(epoch=epoch, worker=worker, batch=number + 1,
                                             streams=[stream.position for stream in streams]))
        finally:
            for stream in streams:
                stream.close()

    def _next_sample(self, stream: SourceStream) -> dict:
        for _ in range(MAX_REPLACEMENT_TRIES):
            shard, sample = stream.next_raw()
            try:
                return self._load(shard, sample, stream.source)
            except BadSampleError as error:
                if not isinstance(error, ShardSampleError):
                    error = ShardSampleError(error.reason, shard.path, sample.key)
                self.policy.bad_sample(error)
        raise TooManyBadSamplesError(
            f'source {self.names[stream.source]!r}: {MAX_REPLACEMENT_TRIES} bad samples in a row; the shards '
            f'look broken as a whole. Counts in this process: {self.policy.counts}')

    def _load(self, shard: TarShard, sample: TarSample, source: int) -> dict:
        member = image_member(sample, shard.path)
        results = dict(img_bytes=shard.read(member), img_path=f'{shard.path}:{member.name}',
                       caption=read_caption(shard, sample, self.caption_key), image_id=sample.key,
                       caption_id=sample.key, dataset_name=self.names[source], shard=shard.path, key=sample.key)
        return self.pipeline(results)


@FUNCTIONS.register_module()
def shard_batch_collate(item: dict) -> dict:
    """Collate the batch a ``ShardImageTextDataset`` yields, keeping its stream state for resuming."""
    batch = image_text_collate(item['samples'])
    batch['stream_state'] = item['stream_state']
    return batch
