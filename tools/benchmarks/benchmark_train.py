"""Seconds per training step and peak memory: our Runner step, a bare PyTorch loop, DGA, open_clip.

    python tools/benchmarks/benchmark_train.py                      # CPU, the demo's towers
    python tools/benchmarks/benchmark_train.py --device cuda --towers vit-b16-bert-base \
        --batch-size 256 --sub-batches 8 --out results.json           # GPU, AMP fp16

Every row trains the same towers (the demo's by default: timm resnet10t at 64 px + a 2-layer BERT built
from its config, embedding 128; ``--towers``/``--image-model`` for others) from the same random init on
the same synthetic batches, with AdamW and our symmetric InfoNCE loss:

* ``bare``: a plain PyTorch loop over our model's modules (normalise, encode, loss, backward, step);
* ``runner``: ``DualEncoder.train_step`` driven by MMEngine's Runner and the demo's loop and hooks,
  with our optimizer wrapper (no DGA);
* ``plain`` / ``dga``: ``DualEncoder.train_step`` on the global batch, in one piece or with decoupled
  gradient accumulation in ``--sub-batches`` pieces;
* ``plain_sub``: one plain step on a single sub-batch (the memory DGA should stay close to);
* ``open_clip``: open_clip's own ``train_one_epoch`` with ``--accum-freq`` equal to the number of
  sub-batches, driving an open_clip-compatible wrapper around the same towers, so only the
  accumulation procedure differs from ``dga``.

Every row runs in a fresh process, so peak memory is that row's alone: peak RSS on CPU
(``ru_maxrss``), ``torch.cuda.max_memory_allocated`` on CUDA, reported absolute and above the
process's memory once the model and data are built. Warm-up steps are excluded and the median of the
timed steps is reported. Before the rows, one float64 step of the bare loop, the Runner, ``plain``,
``dga`` and ``open_clip`` on small LayerNorm towers must give the same gradient and parameter update:
the rows are only comparable if they do the same math.
"""
import argparse
import concurrent.futures
import dataclasses
import gc
import importlib.util
import json
import math
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Callable, Dict, List, Optional

import torch
from torch import nn

# Run from a checkout without installing the package; children started by multiprocessing import this
# file by name (``benchmark_train``) when a test loaded it that way, so its folder is on the path too.
REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from zerovl.utils.benchmarking import describe_machine, reset_peak_rss  # noqa: E402

DEMO_CONFIG = str(REPO_ROOT / 'configs/zerovl/zerovl_demo.py')
ROWS = ('bare', 'runner', 'plain', 'dga', 'plain_sub', 'open_clip')
PAD_ID = 0  # padding token: open_clip passes token ids only, its wrapper rebuilds the mask from them
FIRST_WORD_ID = 5  # after BERT's special tokens
DISTINCT_BATCHES = 4  # cycled: distinct data costs memory, not speed
OPEN_CLIP_PIN = 'open_clip_torch==3.3.0'

# Tower presets; ``demo`` takes the demo config's towers as they are.
TOWERS = {
    'demo': dict(image_size=64),
    # LayerNorm-only towers small enough for tests (and for the float64 same-math check).
    'tiny': dict(
        image_size=32, embed_dim=16,
        image_tower=dict(type='TimmImageTower', model_name='test_vit', img_size=32, patch_size=8),
        text_tower=dict(type='HFTextTower', pretrained=False, pooling='mean', config=dict(
            model_type='bert', vocab_size=64, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
            intermediate_size=64, max_position_embeddings=32, hidden_dropout_prob=0.0,
            attention_probs_dropout_prob=0.0))),
    # ZeroVL's towers at random init (no download): ViT-B/16 at 224 px and BERT-base, [CLS] pooling.
    'vit-b16-bert-base': dict(
        image_size=224, embed_dim=512,
        image_tower=dict(type='TimmImageTower', model_name='vit_base_patch16_224', pretrained=False),
        text_tower=dict(type='HFTextTower', pretrained=False, pooling='cls', config=dict(model_type='bert'))),
}
BERT_BASE_VOCAB = 30522  # AutoConfig.for_model('bert') default, when a preset does not set it
# Imported once by the fork server (a missing one is skipped), so that a row's process starts in a second:
# the libraries, BERT (transformers imports it lazily) and matplotlib (the Runner's visualizer).
PRELOAD = ['torch', 'timm', 'transformers', 'transformers.models.bert.modeling_bert', 'matplotlib.pyplot',
           'mmengine.runner', 'zerovl.datasets', 'zerovl.engine', 'zerovl.evaluation', 'zerovl.models',
           'open_clip_train.train', 'open_clip_train.params']
CHECK = dict(towers='tiny', batch_size=8, sub_batch_size=2)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--towers', choices=sorted(TOWERS), default='demo')
    parser.add_argument('--image-model', help='any timm model name, replacing the preset image tower')
    parser.add_argument('--image-size', type=int, help='input side in pixels (default: the preset\'s)')
    parser.add_argument('--caption-length', type=int, default=25, help='tokens per caption, padding included')
    parser.add_argument('--batch-size', type=int, default=512, help='global batch of every row but plain_sub')
    parser.add_argument('--sub-batches', type=int, default=8, help='DGA sub-batches = open_clip --accum-freq')
    parser.add_argument('--warmup', type=int, default=2, help='untimed steps first (at least 1)')
    parser.add_argument('--steps', type=int, default=6, help='timed steps per row (median reported)')
    parser.add_argument('--repeats', type=int, default=1,
                        help='rounds over all rows, interleaved; step times are pooled (median of all)')
    parser.add_argument('--threads', type=int, default=len(os.sched_getaffinity(0)),
                        help='torch intra-op threads, the same in every row (default: all usable cores)')
    parser.add_argument('--device', choices=['cpu', 'cuda'],
                        default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--precision', choices=['auto', 'fp32', 'amp'], default='auto',
                        help='auto: AMP (fp16 + GradScaler) on CUDA, fp32 on CPU; amp on CPU is bf16')
    parser.add_argument('--rows', nargs='+', choices=ROWS, default=list(ROWS))
    parser.add_argument('--no-check', action='store_true', help='skip the float64 same-math check')
    parser.add_argument('--out', help='also write every measurement, the table and the setup as JSON here')
    args = parser.parse_args(argv)
    if args.batch_size % args.sub_batches:
        parser.error(f'--sub-batches {args.sub_batches} must divide --batch-size {args.batch_size}')
    if args.warmup < 1 or args.steps < 1 or args.repeats < 1:
        parser.error('--warmup, --steps and --repeats must be at least 1 (the first step starts the clock)')
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: no CUDA device is visible to torch')
    if args.precision == 'auto':
        args.precision = 'amp' if args.device == 'cuda' else 'fp32'
    return args


# ------------------------------------------------------------------------------------------ settings

@dataclasses.dataclass
class Settings:
    """What a row process needs to rebuild the model and data the parent described (picklable)."""
    model: dict
    image_size: int
    vocab_size: int
    caption_length: int
    batch_size: int
    sub_batch_size: int
    warmup: int
    steps: int
    threads: int
    device: str
    precision: str
    optimizer: dict

    @property
    def sub_batches(self) -> int:
        return self.batch_size // self.sub_batch_size


def demo_config():
    from mmengine.config import Config
    return Config.fromfile(DEMO_CONFIG)


def model_config(towers: str, image_model: Optional[str] = None) -> dict:
    """The demo's DualEncoder config with the preset's towers, without mixup or DGA (rows add DGA)."""
    model = demo_config().model.to_dict()
    preset = TOWERS[towers]
    for key in ('image_tower', 'text_tower', 'embed_dim'):
        if key in preset:
            model[key] = preset[key]
    if image_model:
        model['image_tower'] = dict(type='TimmImageTower', model_name=image_model, pretrained=False)
    # Mixup is off: open_clip has none, and the rows compare training procedures, not recipes.
    return dict(model, mixup=None, dga=None)


def settings_for(args, towers: str, image_model: Optional[str], image_size: int, batch_size: int,
                 sub_batch_size: int, precision: str) -> Settings:
    model = model_config(towers, image_model)
    optimizer = dict(demo_config().optim_wrapper.optimizer)
    optimizer.pop('type')  # AdamW in every row
    return Settings(model=model, image_size=image_size,
                    vocab_size=model['text_tower'].get('config', {}).get('vocab_size', BERT_BASE_VOCAB),
                    caption_length=args.caption_length, batch_size=batch_size, sub_batch_size=sub_batch_size,
                    warmup=args.warmup, steps=args.steps, threads=args.threads, device=args.device,
                    precision=precision, optimizer=optimizer)


def benchmark_settings(args) -> Settings:
    return settings_for(args, args.towers, args.image_model, args.image_size or TOWERS[args.towers]['image_size'],
                        args.batch_size, args.batch_size // args.sub_batches, args.precision)


def check_settings(args) -> Settings:
    """The same-math check: tiny LayerNorm towers, a small batch, float64 (set by the check), no AMP."""
    return settings_for(args, CHECK['towers'], None, TOWERS[CHECK['towers']]['image_size'], CHECK['batch_size'],
                        CHECK['sub_batch_size'], 'fp32')


def amp_dtype(settings: Settings) -> Optional[torch.dtype]:
    """None for fp32; fp16 on CUDA (with a GradScaler), bf16 on CPU (no scaling needed)."""
    if settings.precision != 'amp':
        return None
    return torch.float16 if settings.device == 'cuda' else torch.bfloat16


# ------------------------------------------------------------------------------------------ model and data

def build_model(settings: Settings, dga: bool = False) -> nn.Module:
    from zerovl.registry import MODELS
    cfg = dict(settings.model, dga=dict(sub_batch_size=settings.sub_batch_size) if dga else None)
    torch.manual_seed(0)  # the same initial weights in every row
    return MODELS.build(cfg).to(settings.device).train()


def synthetic_batches(settings: Settings, count: int, seed: int = 0) -> List[dict]:
    """``count`` collated batches as zerovl's loader yields them (uint8 images, token ids with padding,
    attention masks, per-sample metadata), ``DISTINCT_BATCHES`` distinct ones cycled.

    Every row reads these same tensors from memory: the loader is not what is measured, and a real
    DataLoader would add decode and augmentation time that differs with the machine's free cores."""
    gen = torch.Generator().manual_seed(seed)
    n, length = settings.batch_size, settings.caption_length
    distinct = []
    for _ in range(min(count, DISTINCT_BATCHES)):
        images = torch.randint(0, 256, (n, 3, settings.image_size, settings.image_size), dtype=torch.uint8,
                               generator=gen)
        lengths = torch.randint(max(2, length // 2), length + 1, (n, 1), generator=gen)
        ids = torch.randint(FIRST_WORD_ID, settings.vocab_size, (n, length), generator=gen)
        ids = ids.masked_fill(torch.arange(length) >= lengths, PAD_ID)
        distinct.append(dict(inputs=dict(images=images, input_ids=ids, attention_mask=(ids != PAD_ID).long()),
                             data_samples=[dict(image_id=i, caption_id=i) for i in range(n)]))
    return [distinct[i % len(distinct)] for i in range(count)]


def adamw(model: nn.Module, settings: Settings) -> torch.optim.Optimizer:
    return torch.optim.AdamW(model.parameters(), **settings.optimizer)


def optim_wrapper(optimizer: torch.optim.Optimizer, settings: Settings):
    """Our wrapper as a config with ``--amp`` would build it: DeviceAmpOptimWrapper, else OptimWrapper."""
    from mmengine.optim import OptimWrapper
    from zerovl.engine.optimizers import DeviceAmpOptimWrapper
    dtype = amp_dtype(settings)
    if dtype is None:
        return OptimWrapper(optimizer=optimizer)
    return DeviceAmpOptimWrapper(optimizer=optimizer, dtype=str(dtype).replace('torch.', ''))


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
            default_scope='zerovl', log_level='WARNING', experiment_name=f'benchmark_train_{os.getpid()}')
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
    others' cached features and back-propagate) with its ``ClipLoss``."""
    from open_clip.loss import ClipLoss
    from open_clip_train.train import train_one_epoch
    scaler = torch.amp.GradScaler('cuda') if amp_dtype(settings) is torch.float16 else None
    data = dict(train=OpenClipData(batches, settings.sub_batch_size, clock))
    train_one_epoch(OpenClipModel(model), data, ClipLoss(cache_labels=True), 0, optimizer, scaler, None, None,
                    open_clip_args(settings))


@dataclasses.dataclass(frozen=True)
class Row:
    """How a row trains: its label, its loop, whether the model does DGA, whether the batch is one
    sub-batch."""
    label: str
    harness: Callable
    dga: bool = False
    sub_batch_only: bool = False


ROW_SPECS: Dict[str, Row] = {
    'bare': Row('bare PyTorch loop', bare_loop),
    'runner': Row('MMEngine Runner, train_step', runner_loop),
    'plain': Row('train_step, plain', train_step_loop),
    'dga': Row('train_step, DGA', train_step_loop, dga=True),
    'plain_sub': Row('train_step, plain, one sub-batch', train_step_loop, sub_batch_only=True),
    'open_clip': Row('open_clip train_one_epoch, accum-freq', open_clip_loop),
}


def missing_package(row: str) -> Optional[str]:
    """The package a row needs and this environment lacks (open_clip's, or one of its imports)."""
    if row != 'open_clip':
        return None
    try:
        import open_clip.loss  # noqa: F401
        import open_clip_train.train  # noqa: F401
    except ModuleNotFoundError as error:
        return error.name
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
    if spec.sub_batch_only:
        settings = dataclasses.replace(settings, batch_size=settings.sub_batch_size)
    model = build_model(settings, dga=spec.dga)
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
                threads=torch.get_num_threads(), **probe.report())


# ------------------------------------------------------------------------------------------ same math

def one_step(row: str, settings: Settings) -> dict:
    """Gradient (at the optimizer step) and parameter update of one float64 step of ``row``."""
    spec = ROW_SPECS[row]
    model = build_model(settings, dga=spec.dga).double()
    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    optimizer = adamw(model, settings)
    grads = {}
    optimizer.register_step_pre_hook(
        lambda *_: grads.update({name: p.grad.detach().clone() for name, p in named if p.grad is not None}))
    before = {name: p.detach().clone() for name, p in named}
    spec.harness(model, synthetic_batches(settings, 1, seed=7), optimizer, settings, StepClock(settings.device))
    return dict(grads=grads, updates={name: p.detach() - before[name] for name, p in named})


def relative_difference(actual: Dict[str, torch.Tensor], expected: Dict[str, torch.Tensor]) -> float:
    """max |actual - expected| over every parameter, relative to the largest |expected|."""
    if actual.keys() != expected.keys():
        return math.inf
    scale = max(value.abs().max().item() for value in expected.values())
    return max((actual[k] - expected[k]).abs().max().item() for k in expected) / scale


def check_same_math(settings: Settings) -> dict:
    """Runs in a fresh process: every row's float64 step against the bare loop's.

    LayerNorm towers without dropout: BatchNorm normalises each DGA / accum-freq sub-batch with its own
    statistics and dropout draws differ between procedures, both by design, and neither is what this
    guards (zerovl's DGA tests cover the RNG replay)."""
    prepare_process(settings)
    reference = one_step('bare', settings)
    result = {}
    for row in ('runner', 'plain', 'dga', 'open_clip'):
        missing = missing_package(row)
        if missing:
            result[row] = dict(skipped=f'{missing} is not installed')
            continue
        step = one_step(row, settings)
        result[row] = dict(grad=relative_difference(step['grads'], reference['grads']),
                           update=relative_difference(step['updates'], reference['updates']))
    return result


# ------------------------------------------------------------------------------------------ processes

def row_processes(device: str):
    """One fresh process per task. On CPU a fork server that has imported the libraries once forks
    them (each row still starts from a process that has run nothing); on CUDA every row is spawned, so
    that no parent has touched the driver before a row forks."""
    if device == 'cuda':
        context = multiprocessing.get_context('spawn')
    else:
        context = multiprocessing.get_context('forkserver')
        context.set_forkserver_preload(PRELOAD)
    return concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context, max_tasks_per_child=1)


def in_fresh_process(function: Callable, *args):
    with row_processes(args[-1].device) as pool:
        try:
            return pool.submit(function, *args).result()
        except concurrent.futures.process.BrokenProcessPool as error:  # killed, e.g. out of memory
            return dict(failed=f'the process died ({error})')


def pool_repeats(runs: List[dict]) -> dict:
    """One row's rounds as one result: every timed step pooled, the memory of the median round."""
    if any('median_s' not in run for run in runs):
        return next(run for run in runs if 'median_s' not in run)
    times = [t for run in runs for t in run['step_times']]
    cpu_times = [t for run in runs for t in run['cpu_step_times']]
    memory = sorted(runs, key=lambda run: run['increment_bytes'])[(len(runs) - 1) // 2]
    return dict(memory, step_times=times, median_s=statistics.median(times), cpu_step_times=cpu_times,
                median_cpu_s=statistics.median(cpu_times), rounds=len(runs))


# ------------------------------------------------------------------------------------------ report

SYMBOLS = {'>=': '≥', '<=': '≤'}


def comparisons(results: Dict[str, dict], sub_batches: int) -> List[dict]:
    """The ratios the issue sets targets for; a ratio needs both of its rows."""
    def ratio(numerator, denominator, key):
        a, b = results.get(numerator, {}), results.get(denominator, {})
        return a[key] / b[key] if key in a and key in b and b[key] > 0 else None

    k = sub_batches
    specs = [
        ('Runner vs bare loop: throughput', ratio('bare', 'runner', 'median_s'), '>=', 0.95),
        (f'DGA ({k} sub-batches) vs plain step, same batch: time', ratio('dga', 'plain', 'median_s'), '<=', 1.35),
        ('DGA vs plain step on one sub-batch: peak memory above baseline',
         ratio('dga', 'plain_sub', 'increment_bytes'), '<=', 1.3),
        (f'DGA vs open_clip accum-freq {k}: time', ratio('dga', 'open_clip', 'median_s'), '<=', 1.0),
        (f'DGA vs open_clip accum-freq {k}: peak memory above baseline',
         ratio('dga', 'open_clip', 'increment_bytes'), '<=', 1.0),
    ]
    rows = []
    for name, value, sense, target in specs:
        met = None if value is None else (value >= target if sense == '>=' else value <= target)
        rows.append(dict(comparison=name, ratio=value, target=f'{SYMBOLS[sense]} {target:.2f}x', met=met))
    return rows


def mib(num_bytes: float) -> str:
    return f'{num_bytes / 2 ** 20:.0f} MiB'


def rows_table(results: Dict[str, dict], settings: Settings, memory: str, cpu_column: bool) -> str:
    """One line per row; on CPU also the process CPU time per step (see StepClock)."""
    cpu_head, cpu_rule = (' CPU time / step |', '---:|') if cpu_column else ('', '')
    lines = [f'| row | batch | median step |{cpu_head} samples/s | {memory} | above model-built baseline |',
             f'|---|---:|---:|{cpu_rule}---:|---:|---:|']
    for row, result in results.items():
        label = ROW_SPECS[row].label
        if row in ('dga', 'open_clip'):
            label += f' ({settings.sub_batches} × {settings.sub_batch_size})'
        if 'median_s' not in result:
            status = 'skipped' if 'skipped' in result else 'failed'
            dashes = ' – |' * (4 if cpu_column else 3)
            lines.append(f'| {label} | – | {status}: {result[status]} |{dashes}')
            continue
        cpu = f" {result['median_cpu_s']:.3f} s |" if cpu_column else ''
        lines.append(f"| {label} | {result['batch_size']} | {result['median_s']:.3f} s |{cpu} "
                     f"{result['batch_size'] / result['median_s']:.1f} | {mib(result['peak_bytes'])} | "
                     f"{mib(result['increment_bytes'])} |")
    return '\n'.join(lines)


def comparisons_table(rows: List[dict]) -> str:
    lines = ['| comparison | measured | target | met |', '|---|---:|---:|---|']
    for row in rows:
        value = '–' if row['ratio'] is None else f"{row['ratio']:.2f}x"
        met = 'n/a' if row['met'] is None else ('yes' if row['met'] else 'no')
        lines.append(f"| {row['comparison']} | {value} | {row['target']} | {met} |")
    return '\n'.join(lines)


def check_line(check: Optional[dict]) -> str:
    if check is None:
        return 'Same-math check: skipped (--no-check).'
    if 'failed' in check:
        return f"Same-math check: failed: {check['failed']}"
    parts = [f"{row}: {value['skipped']}" if 'skipped' in value else
             f"{row} {value['grad']:.1e} / {value['update']:.1e}" for row, value in check.items()]
    sub_batches = CHECK['batch_size'] // CHECK['sub_batch_size']
    return (f"Same-math check (one float64 step, {CHECK['towers']} LayerNorm towers, batch {CHECK['batch_size']} "
            f'in {sub_batches} sub-batches; max |Δ| relative to the bare loop, gradient / update): '
            + '; '.join(parts) + '.')


def machine(args, load_at_start: float) -> str:
    versions = {}
    for package in ('mmengine', 'timm', 'transformers', 'open_clip'):
        if importlib.util.find_spec(package) is not None:
            versions[package] = __import__(package).__version__
    device = torch.cuda.get_device_name() if args.device == 'cuda' else 'CPU'
    return (f'{describe_machine(versions)}; device {device}; torch threads {args.threads}; '
            f'load average {load_at_start:.1f} at start, {os.getloadavg()[0]:.1f} at end')


def load_warning(load_at_start: float, load_at_end: float, threads: int) -> Optional[str]:
    """Other processes on the cores make threads wait for each other: with 2 threads on a loaded 2-core
    machine a batch-32 step took 10x longer than with 1 (measured), and small batches suffer most.
    At the end, the last row's own threads are part of the load average; the rest is other work."""
    cores = len(os.sched_getaffinity(0))
    others = max(load_at_start, load_at_end - threads)
    if others + threads <= cores + 0.5:
        return None
    return (f'**Loaded machine**: load average {load_at_start:.1f} before and {load_at_end:.1f} after the run, '
            f'on {cores} cores. Timings are noisy and, with more threads than idle cores, inflated; on a '
            'shared machine use --threads 1 and compare CPU times.')


def report(args, command: str, settings: Settings, results: Dict[str, dict], check, ratios,
           load_at_start: float) -> str:
    memory = 'peak allocated (CUDA)' if args.device == 'cuda' else 'peak RSS'
    towers = args.image_model or args.towers
    precision = {'fp32': 'fp32', 'amp': 'AMP fp16 + GradScaler' if args.device == 'cuda' else 'AMP bf16'}
    warning = load_warning(load_at_start, os.getloadavg()[0], args.threads) if args.device == 'cpu' else None
    return '\n'.join([
        f'Machine: {machine(args, load_at_start)}', *([warning] if warning else []), f'Command: `{command}`',
        f'Towers: {towers} ({settings.image_size} px, embedding {settings.model["embed_dim"]}); global batch '
        f'{settings.batch_size}, {settings.sub_batches} sub-batches of {settings.sub_batch_size}; '
        f'{precision[args.precision]}; AdamW; median of {args.steps * args.repeats} timed steps '
        f'({args.repeats} round(s) of {args.steps}, each after {args.warmup} warm-up); one fresh process per row '
        'and round.',
        check_line(check), '', rows_table(results, settings, memory, cpu_column=args.device == 'cpu'), '',
        comparisons_table(ratios)])


# ------------------------------------------------------------------------------------------ main

def main(argv=None) -> dict:
    args = parse_args(argv)
    command = 'python tools/benchmarks/benchmark_train.py ' + ' '.join(sys.argv[1:] if argv is None else argv)
    settings = benchmark_settings(args)
    load_at_start = os.getloadavg()[0]
    check = None if args.no_check else in_fresh_process(check_same_math, check_settings(args))
    runs = {row: [] for row in args.rows}
    for repeat in range(args.repeats):
        for row in args.rows:  # interleaved: a slow drift of the machine hits every row alike
            done = in_fresh_process(measure_row, row, settings)
            runs[row].append(done)
            print(f"round {repeat + 1}, {row}: median {done['median_s']:.3f} s per step" if 'median_s' in done
                  else f'round {repeat + 1}, {row}: {done}', flush=True)
    results = {row: pool_repeats(row_runs) for row, row_runs in runs.items()}
    ratios = comparisons(results, settings.sub_batches)
    markdown = report(args, command, settings, results, check, ratios, load_at_start)
    print(markdown)
    output = dict(command=command, settings=dataclasses.asdict(settings), rows=results, comparisons=ratios,
                  same_math=check, markdown=markdown)
    if args.out:
        with open(args.out, 'w', encoding='utf-8') as f:
            json.dump(output, f, indent=2, default=str)
    return output


if __name__ == '__main__':
    main()
