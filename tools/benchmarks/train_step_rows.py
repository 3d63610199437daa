"""benchmark_train.py's rows: the step clock, the memory probe, and each training procedure measured (a bare
loop, the Runner, plain and DGA train steps, open_clip's accum-freq), one row per fresh process."""
import dataclasses
import gc
import os
import resource
import statistics
import tempfile
import time
import warnings
from typing import Callable, Dict, List, Optional

import torch
from torch import nn

from train_step_setup import (OPEN_CLIP_PIN, PAD_ID, Settings, adamw, amp_dtype, best_flags, build_model,
                              demo_config, describe_flags, optim_wrapper, synthetic_batches)

from zerovl.utils.benchmarking import reset_peak_rss
from zerovl.utils.experiment_name import unique_experiment_name

# ------------------------------------------------------------------------------------------ measuring

class StepClock:
    """Wall-clock and process CPU time at step boundaries; CUDA work is waited for, so each interval
    holds its own step. CPU time is the steadier measure on a shared machine with one thread: other
    processes delay a step's wall time but do not add to its CPU time."""

    def __init__(self, device: str):
        self.cuda = device == 'cuda'
        self.stamps: List[float] = []
        self.cpu_stamps: List[float] = []

    def stamp(self) -> None:
        if self.cuda:
            torch.cuda.synchronize()
        self.stamps.append(time.perf_counter())
        self.cpu_stamps.append(time.process_time())

    @staticmethod
    def _intervals(stamps: List[float], warmup: int) -> List[float]:
        return [b - a for a, b in zip(stamps, stamps[1:])][warmup:]

    def step_times(self, warmup: int) -> List[float]:
        return self._intervals(self.stamps, warmup)

    def cpu_times(self, warmup: int) -> List[float]:
        return self._intervals(self.cpu_stamps, warmup)


def current_rss_bytes() -> int:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


class MemoryProbe:
    """Peak memory of this process, absolute and above what it holds once the model and data are built.

    CPU: peak RSS (``ru_maxrss``, its high-water mark reset at the baseline) and the RSS at the
    baseline. The absolute peak also counts the interpreter and the libraries (torch, transformers,
    ...: hundreds of MB, the same in every row), so the increment is what the training procedure adds:
    gradients, optimizer state, activations, cached embeddings. CUDA: ``max_memory_allocated`` after
    resetting the peak at the baseline, and the memory allocated then (weights and buffers).
    """

    def __init__(self, device: str):
        self.cuda = device == 'cuda'
        self.baseline = 0
        self.peak_reset = True

    def mark_baseline(self) -> None:
        gc.collect()
        if self.cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.baseline = torch.cuda.memory_allocated()
        else:
            self.baseline = current_rss_bytes()
            self.peak_reset = reset_peak_rss()

    def report(self) -> dict:
        if self.cuda:
            peak = torch.cuda.max_memory_allocated()
        else:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
        return dict(peak_bytes=peak, baseline_bytes=self.baseline, increment_bytes=peak - self.baseline,
                    peak_since='baseline' if self.peak_reset else 'process start')


# ------------------------------------------------------------------------------------------ the rows

def bare_loop(model, batches, optimizer, settings: Settings, clock: StepClock) -> None:
    """What a hand-written PyTorch loop does with the same modules: no Runner, hooks or wrappers."""
    from zerovl.models.heads import l2_normalize
    device, dtype = settings.device, amp_dtype(settings)
    mean, std = model.data_preprocessor.mean, model.data_preprocessor.std
    scaler = torch.amp.GradScaler('cuda') if dtype is torch.float16 else None
    clock.stamp()
    for batch in batches:
        inputs = {key: value.to(device) for key, value in batch['inputs'].items()}
        images = (inputs['images'].to(mean.dtype) - mean) / std
        with torch.autocast(torch.device(device).type, dtype=dtype, enabled=dtype is not None):
            image_embeds = l2_normalize(model.image_projection(model.image_tower(images)))
            text_embeds = l2_normalize(model.text_projection(model.text_tower(inputs['input_ids'],
                                                                              inputs['attention_mask'])))
            loss = model.loss_module(image_embeds, text_embeds)
        if scaler is None:
            loss.backward()
            optimizer.step()
        else:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        optimizer.zero_grad()
        clock.stamp()


def train_step_loop(model, batches, optimizer, settings: Settings, clock: StepClock) -> None:
    """``DualEncoder.train_step`` called directly (plain, or DGA when the model was built with it)."""
    wrapper = optim_wrapper(optimizer, settings)
    clock.stamp()
    for batch in batches:
        model.train_step(batch, wrapper)
        clock.stamp()


class InMemoryBatches(torch.utils.data.Dataset):
    """Pre-collated batches served as they are: the Runner's DataLoader costs an index lookup."""
    metainfo = dict(name='synthetic in-memory batches')

    def __init__(self, batches: List[dict]):
        self.batches = batches

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, index: int) -> dict:
        return self.batches[index]


def only_item(items: list) -> dict:
    """Collates a one-item batch (the item is a whole batch already) into that item."""
    return items[0]


def runner_loop(model, batches, optimizer, settings: Settings, clock: StepClock) -> None:
    """MMEngine's Runner with the demo's train loop, hooks, environment and seeding, minus checkpoints
    (a save is not a step) and the learning-rate schedule (every row keeps AdamW's constant lr, so that
    the same-math check can compare updates)."""
    from mmengine.hooks import Hook
    from mmengine.runner import Runner

    class ClockHook(Hook):
        priority = 'LOWEST'  # after every other hook, so an interval holds the whole iteration

        def before_train(self, runner) -> None:
            clock.stamp()

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
            clock.stamp()

    cfg = demo_config()
    # The demo's env_cfg sets the 'fork' start method for DataLoader workers; this process has none.
    warnings.filterwarnings('ignore', message='Multi-processing start method')
    # batch_size=1 and not None: mmengine's sampler-seed hook expects a batch sampler.
    loader = torch.utils.data.DataLoader(InMemoryBatches(batches), batch_size=1, shuffle=False, num_workers=0,
                                         collate_fn=only_item)
    with tempfile.TemporaryDirectory(prefix='zvbench') as work_dir:
        runner = Runner(
            model=model, work_dir=work_dir, train_dataloader=loader,
            optim_wrapper=optim_wrapper(optimizer, settings),
            train_cfg=dict(type=cfg.train_cfg.type, max_epochs=1, val_interval=2),
            default_hooks=dict(cfg.default_hooks, checkpoint=None), custom_hooks=[*cfg.custom_hooks, ClockHook()],
            env_cfg=cfg.env_cfg, log_processor=cfg.log_processor, randomness=cfg.randomness,
            default_scope='zerovl', log_level='WARNING', experiment_name=unique_experiment_name('benchmark_train'))
        runner.train()


class OpenClipModel(nn.Module):
    """open_clip's model interface around our towers: ``model(images, texts)`` returns the normalised
    features and ``logit_scale`` (1/τ, stored as its log as open_clip keeps it, and not learned: our
    rows use a constant temperature). Images arrive as uint8 and are normalised here exactly as our
    data preprocessor does; the attention mask is rebuilt from the padding id."""

    def __init__(self, dual_encoder: nn.Module):
        super().__init__()
        self.encoder = dual_encoder
        tau = dual_encoder.loss_module.temperature()
        self.register_buffer('logit_scale', (1.0 / tau).log().detach().clone())

    def forward(self, images: torch.Tensor, texts: torch.Tensor) -> dict:
        preprocessor = self.encoder.data_preprocessor
        images = (images.to(preprocessor.mean.dtype) - preprocessor.mean) / preprocessor.std
        return dict(image_features=self.encoder.encode_image(images),
                    text_features=self.encoder.encode_text(texts, (texts != PAD_ID).long()),
                    logit_scale=self.logit_scale.exp())


class OpenClipData:
    """open_clip's ``data['train']`` over in-memory sub-batches (``--accum-freq`` sub-batches make one
    optimizer step there). The clock is stamped when each step's first sub-batch is fetched and once
    after the last step, so the intervals are whole optimizer steps."""

    def __init__(self, batches: List[dict], sub_batch_size: int, clock: StepClock):
        self.sub_batches = []
        for batch in batches:
            images, ids = batch['inputs']['images'], batch['inputs']['input_ids']
            self.sub_batches += [(images[start:start + sub_batch_size], ids[start:start + sub_batch_size])
                                 for start in range(0, len(images), sub_batch_size)]
        self.accum_freq = len(batches[0]['inputs']['images']) // sub_batch_size
        self.clock = clock
        self.dataloader = self  # open_clip reads num_batches and num_samples from data['train'].dataloader
        self.num_batches = len(self.sub_batches)
        self.num_samples = self.num_batches * sub_batch_size

    def set_epoch(self, epoch: int) -> None:
        pass

    def __iter__(self):
        for index, sub_batch in enumerate(self.sub_batches):
            if index % self.accum_freq == 0:
                self.clock.stamp()
            yield sub_batch
        self.clock.stamp()


def open_clip_args(settings: Settings):
    """open_clip_train's own argument defaults, plus what its main() fills in for one process."""
    from open_clip_train.params import parse_args
    dtype = amp_dtype(settings)
    precision = {None: 'fp32', torch.float16: 'amp', torch.bfloat16: 'amp_bf16'}[dtype]
    args = parse_args(['--accum-freq', str(settings.sub_batches), '--batch-size', str(settings.sub_batch_size),
                       '--precision', precision, '--log-every-n-steps', str(10 ** 9)])
    args.device, args.distill, args.horovod, args.wandb, args.tensorboard = settings.device, False, False, False, False
    args.rank, args.local_rank, args.world_size = 0, 0, 1
    args.skip_scheduler = True  # the same constant lr as every other row
    return args


def open_clip_loop(model, batches, optimizer, settings: Settings, clock: StepClock) -> None:
    """open_clip's ``train_one_epoch`` (its ``--accum-freq`` procedure: cache every sub-batch's
    features without a graph, then per sub-batch re-embed it, recompute the whole loss with the
    others' cached features and back-propagate) with its ``ClipLoss``. With ``settings.compile`` the
    model is wrapped as open_clip's main does for ``--torchcompile`` (``torch.compile`` of the whole
    model, its defaults but the backend)."""
    from open_clip.loss import ClipLoss
    from open_clip_train.train import train_one_epoch
    scaler = torch.amp.GradScaler('cuda') if amp_dtype(settings) is torch.float16 else None
    data = dict(train=OpenClipData(batches, settings.sub_batch_size, clock))
    wrapper = OpenClipModel(model)
    if settings.compile:
        wrapper = torch.compile(wrapper, backend=settings.compile_backend)
    train_one_epoch(wrapper, data, ClipLoss(cache_labels=True), 0, optimizer, scaler, None, None,
                    open_clip_args(settings))


@dataclasses.dataclass(frozen=True)
class Row:
    """How a row trains: its label, its loop, whether the model does DGA, whether the batch is one
    sub-batch, whether it runs with its side's best flags (``best_flags``)."""
    label: str
    harness: Callable
    dga: bool = False
    sub_batch_only: bool = False
    best: bool = False

    @property
    def open_clip(self) -> bool:
        return self.harness is open_clip_loop

    def settings(self, settings: Settings, same_math: bool = False) -> Settings:
        """The run's settings as this row trains with them."""
        if self.best:
            settings = best_flags(settings, self.open_clip, same_math)
        if self.sub_batch_only:
            settings = dataclasses.replace(settings, batch_size=settings.sub_batch_size)
        return settings


ROW_SPECS: Dict[str, Row] = {
    'bare': Row('bare PyTorch loop', bare_loop),
    'runner': Row('MMEngine Runner, train_step', runner_loop),
    'plain': Row('train_step, plain', train_step_loop),
    'dga': Row('train_step, DGA', train_step_loop, dga=True),
    'plain_sub': Row('train_step, plain, one sub-batch', train_step_loop, sub_batch_only=True),
    'open_clip': Row('open_clip train_one_epoch, accum-freq', open_clip_loop),
    'dga_best': Row('train_step, DGA, best flags', train_step_loop, dga=True, best=True),
    'plain_sub_best': Row('train_step, plain, one sub-batch, best flags', train_step_loop, sub_batch_only=True,
                          best=True),
    'open_clip_best': Row('open_clip train_one_epoch, accum-freq, best flags', open_clip_loop, best=True),
}


def missing_package(row: str) -> Optional[str]:
    """The package a row needs and this environment lacks (open_clip's, or one of its imports)."""
    if not ROW_SPECS[row].open_clip:
        return None
    try:
        import open_clip.loss  # noqa: F401
        import open_clip_train.train  # noqa: F401
    except ModuleNotFoundError as error:
        # The distribution's top-level name: a blocked ``open_clip`` is reported by its submodule's name
        # when the submodule had not been imported yet.
        return (error.name or 'open_clip').split('.')[0]
    return None


def prepare_process(settings: Settings) -> None:
    """A row's process: the thread count every row shares, zerovl's registries, no GPU for CPU rows."""
    if settings.device == 'cpu':
        os.environ['CUDA_VISIBLE_DEVICES'] = ''  # mmengine's Runner would otherwise move the model to a GPU
    torch.set_num_threads(settings.threads)
    from zerovl.utils import register_all_modules
    register_all_modules()


def measure_row(row: str, settings: Settings) -> dict:
    """Runs in a fresh process: build, mark the memory baseline, train warm-up + timed steps."""
    prepare_process(settings)
    spec = ROW_SPECS[row]
    missing = missing_package(row)
    if missing:
        return dict(row=row, skipped=f'{missing} is not installed (pip install {OPEN_CLIP_PIN})')
    settings = spec.settings(settings)
    model = build_model(settings, dga=spec.dga, open_clip=spec.open_clip)
    batches = synthetic_batches(settings, settings.warmup + settings.steps)
    optimizer = adamw(model, settings)
    probe, clock = MemoryProbe(settings.device), StepClock(settings.device)
    probe.mark_baseline()
    try:
        spec.harness(model, batches, optimizer, settings, clock)
    except torch.OutOfMemoryError as error:  # a result for this row; the other rows still run
        return dict(row=row, failed=f'out of memory at batch {settings.batch_size} ({str(error).splitlines()[0]})')
    times, cpu_times = clock.step_times(settings.warmup), clock.cpu_times(settings.warmup)
    return dict(row=row, batch_size=settings.batch_size, step_times=times, median_s=statistics.median(times),
                cpu_step_times=cpu_times, median_cpu_s=statistics.median(cpu_times),
                threads=torch.get_num_threads(), flags=describe_flags(settings), **probe.report())


