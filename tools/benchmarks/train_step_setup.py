"""benchmark_train.py's set-up: the tower presets, the settings a row process rebuilds its model and data
from, the model, the synthetic batches and the optimizer every row shares."""
import dataclasses
from pathlib import Path
from typing import List, Optional

import torch
from torch import nn

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_CONFIG = str(REPO_ROOT / 'configs/zerovl/zerovl_demo.py')
ROWS = ('bare', 'runner', 'plain', 'dga', 'plain_sub', 'open_clip', 'dga_best', 'plain_sub_best', 'open_clip_best')
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
    compile: bool = False  # our towers compiled in place; open_clip's whole model as its --torchcompile does
    compile_backend: str = 'inductor'
    fused_adamw: bool = False

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
                    precision=precision, optimizer=optimizer,
                    compile_backend=getattr(args, 'compile_backend', 'inductor'))


def benchmark_settings(args) -> Settings:
    return settings_for(args, args.towers, args.image_model, args.image_size or TOWERS[args.towers]['image_size'],
                        args.batch_size, args.batch_size // args.sub_batches, args.precision)


def check_settings(args) -> Settings:
    """The same-math check: tiny LayerNorm towers, a small batch, float64 (set by the check), no AMP.
    Compiled rows use ``aot_eager`` there (dynamo's graphs and AOT autograd, no code generation): the check
    is about what the graphs compute, and inductor's C++ build takes minutes on a small CPU."""
    settings = settings_for(args, CHECK['towers'], None, TOWERS[CHECK['towers']]['image_size'],
                            CHECK['batch_size'], CHECK['sub_batch_size'], 'fp32')
    return dataclasses.replace(settings, compile_backend='aot_eager')


def amp_dtype(settings: Settings) -> Optional[torch.dtype]:
    """None for fp32; ``amp``: fp16 on CUDA (with a GradScaler), bf16 on CPU (no scaling needed);
    ``amp_bf16``: bf16 everywhere, without a scaler."""
    if settings.precision == 'amp_bf16':
        return torch.bfloat16
    if settings.precision != 'amp':
        return None
    return torch.float16 if settings.device == 'cuda' else torch.bfloat16


def native_bf16(device: str) -> bool:
    """bf16 that runs on hardware, not emulated: Ampere or newer on CUDA, AVX512-BF16/AMX on CPU."""
    if device == 'cuda':
        return torch.cuda.is_bf16_supported(including_emulation=False)
    try:  # a private oneDNN query; a build without it has no native CPU bf16 that torch would use
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def best_flags(settings: Settings, open_clip: bool, same_math: bool = False) -> Settings:
    """The fastest switches each side has. Ours: bf16 autocast without a scaler, the towers compiled,
    fused AdamW. open_clip's: its ``--precision amp_bf16`` and ``--torchcompile``; its main builds a plain
    ``torch.optim.AdamW``, so the optimizer stays as it was. bf16 only where the device runs it natively
    (emulated bf16 is slower than the run's own precision, which then stays). ``same_math``: the float64
    check, where autocast is off, so only compilation (and the fused optimizer) is checked."""
    precision = settings.precision
    if not same_math and native_bf16(settings.device):
        precision = 'amp_bf16'
    return dataclasses.replace(settings, precision=precision, compile=True, fused_adamw=not open_clip)


def describe_flags(settings: Settings) -> str:
    """What a row ran with, in a few words, for the table."""
    dtype = amp_dtype(settings)
    words = ['fp32' if dtype is None else
             'fp16 autocast + GradScaler' if dtype is torch.float16 else 'bf16 autocast']
    if settings.compile:
        words.append(f'compiled ({settings.compile_backend})')
    if settings.fused_adamw:
        words.append('fused AdamW')
    return ', '.join(words)


# ------------------------------------------------------------------------------------------ model and data

def build_model(settings: Settings, dga: bool = False, open_clip: bool = False) -> nn.Module:
    from zerovl.registry import MODELS
    cfg = dict(settings.model, dga=dict(sub_batch_size=settings.sub_batch_size) if dga else None)
    if settings.compile and not open_clip:  # the towers' own switch, as a config would set it
        switch = dict(backend=settings.compile_backend)
        cfg.update(image_tower=dict(cfg['image_tower'], compile=switch),
                   text_tower=dict(cfg['text_tower'], compile=switch))
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
    fused = dict(fused=True) if settings.fused_adamw else {}
    return torch.optim.AdamW(model.parameters(), **settings.optimizer, **fused)


def optim_wrapper(optimizer: torch.optim.Optimizer, settings: Settings):
    """Our wrapper as a config with ``--amp`` would build it: DeviceAmpOptimWrapper, else OptimWrapper."""
    from mmengine.optim import OptimWrapper
    from zerovl.engine.optimizers import DeviceAmpOptimWrapper
    dtype = amp_dtype(settings)
    if dtype is None:
        return OptimWrapper(optimizer=optimizer)
    return DeviceAmpOptimWrapper(optimizer=optimizer, dtype=str(dtype).replace('torch.', ''))


