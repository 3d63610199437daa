"""docs/customize.md works as written: its files, its checks and its config lines.

Snippet convention (the page states it too, in "How this page is tested"); a fence's info string decides:

* ```python title="PATH"   the content of the file PATH, relative to the folder the page works in. The test
                            writes it under a temporary folder (which also links configs/_base_ and
                            configs/zerovl from the repository), so the page's `my_project/` package and its
                            config exist there as a reader would create them. One block per file.
* ```python                 a runnable check. All of them run in page order in ONE namespace, like cells of
                            one Python session started in that folder: a block continues the blocks before it
                            and may use what they imported or defined. The folder is the working directory
                            and is on sys.path, so `import my_project.towers` finds the file written above.
* ```python config          config lines, not a whole file: evaluated as plain Python (as MMEngine evaluates
                            a config), never run. Every `type` they name must be registered, every timm model
                            name must exist, and lines about a my_project component must agree with the full
                            config file of the page.
* anything else             (bash, text, or another language) is not run. A python fence with any other info
                            string is an error, so a misspelt marker cannot silently skip a block.

Registered names never collide across reruns: the page registers classes into zerovl's registries (by
plain `register_module()`, as a reader's package would). When the module-scoped fixture ends it removes
every entry whose class comes from `my_project` and drops `my_project` from sys.modules, so running these
tests again in the same process imports and registers everything afresh.

Then each component is checked for real: the towers embed a batch inside a DualEncoder built from the
page's config, the loss matches a hand-computed reference, the sampler's batches are checked for one and
two ranks, the hook stops a NaN step, the metric matches a brute-force sort, and the whole config trains
one small epoch through the Runner with every custom piece in use.
"""
import ast
import importlib
import math
import os
import shutil
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from markdown_blocks import fenced_blocks
from mmengine.config import Config

REPO_ROOT = Path(__file__).resolve().parents[2]
PAGE = REPO_ROOT / 'docs' / 'customize.md'
PACKAGE = 'my_project'
FULL_CONFIG = 'configs/my_project/zerovl_demo_custom.py'


# ------------------------------------------------------------------------------------------- the page
def classify(block):
    """('file', path) / ('run', None) / ('config', None) for python blocks; None for other languages."""
    if block.language != 'python':
        return None
    info = block.info.strip()
    if info == '':
        return 'run', None
    if info == 'config':
        return 'config', None
    if info.startswith('title='):
        return 'file', info[len('title='):].strip('"\'')
    raise ValueError(f'docs/customize.md:{block.line}: unknown python block marker {info!r} '
                     '(use nothing, config, or title="PATH")')


def _registries():
    from zerovl import registry
    return [value for value in vars(registry).values() if type(value).__name__ == 'Registry']


def _forget_package():
    """Unregister every class the page's package registered, and forget its modules."""
    for reg in _registries():
        for key, cls in list(reg.module_dict.items()):
            if getattr(cls, '__module__', '').split('.')[0] == PACKAGE:
                del reg._module_dict[key]
    for module in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + '.')]:
        del sys.modules[module]


@pytest.fixture(scope='module')
def page():
    """Runs docs/customize.md top to bottom in a fresh folder; yields what the tests need."""
    from zerovl.utils import register_all_modules
    register_all_modules()  # zerovl's own classes are registered before the page adds its own
    _forget_package()  # a package of that name left over by anything else would shadow the page's
    blocks = [(block, classify(block)) for block in fenced_blocks(PAGE.read_text(encoding='utf-8'))]
    root = Path(tempfile.mkdtemp(prefix='zv'))  # short: MMEngine's yapf formatting is slow on long paths
    (root / 'configs').mkdir()
    for name in ('_base_', 'zerovl'):
        (root / 'configs' / name).symlink_to(REPO_ROOT / 'configs' / name)
    previous_dir, previous_threads = os.getcwd(), torch.get_num_threads()
    torch.set_num_threads(1)
    os.chdir(root)
    sys.path.insert(0, str(root))
    namespace = {'__name__': '__customize_md__'}
    files, configs = {}, []
    try:
        for block, kind in blocks:
            if kind is None:
                continue
            what, path = kind
            if what == 'file':
                assert path not in files, f'docs/customize.md:{block.line}: a second block for {path}'
                target = root / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(block.text, encoding='utf-8')
                files[path] = block
                importlib.invalidate_caches()  # the import system caches directory listings
            elif what == 'run':
                exec(compile(block.text, f'docs/customize.md:{block.line}', 'exec'), namespace)
            else:
                configs.append(block)
        yield SimpleNamespace(root=root, blocks=blocks, files=files, configs=configs, ns=namespace)
    finally:
        os.chdir(previous_dir)
        sys.path.remove(str(root))
        torch.set_num_threads(previous_threads)
        _forget_package()
        shutil.rmtree(root, ignore_errors=True)


def full_config(page) -> Config:
    return Config.fromfile(str(page.root / FULL_CONFIG))  # imports my_project.* via custom_imports


def config_lines(block) -> dict:
    namespace = {}
    exec(compile(block.text, f'docs/customize.md:{block.line}', 'exec'), namespace)
    return {key: value for key, value in namespace.items() if not key.startswith('__')}


def named_types(value):
    """Every dict with a 'type' key, at any depth."""
    if isinstance(value, dict):
        if 'type' in value:
            yield value
        for item in value.values():
            yield from named_types(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from named_types(item)


def test_the_page_has_every_kind_of_block(page):
    kinds = [kind for _, kind in page.blocks if kind is not None]
    assert {path for what, path in kinds if what == 'file'} == {
        'my_project/__init__.py', 'my_project/towers.py', 'my_project/losses.py', 'my_project/samplers.py',
        'my_project/hooks.py', 'my_project/metrics.py', FULL_CONFIG}
    assert sum(what == 'run' for what, _ in kinds) >= 6
    assert len(page.configs) >= 6
    for block in page.files.values():
        ast.parse(block.text)  # files are whole modules


# ------------------------------------------------------------------------------------- config lines
def is_registered(type_name: str) -> bool:
    from mmengine.registry import DefaultScope
    assert DefaultScope.get_current_instance().scope_name == 'zerovl'
    return any(reg.get(type_name) is not None for reg in _registries())


def test_every_type_in_the_config_lines_is_registered(page):
    missing = []
    for block in page.configs + [page.files[FULL_CONFIG]]:
        values = config_lines(block) if block in page.configs else full_config(page).to_dict()
        missing += [f'docs/customize.md:{block.line}: {cfg["type"]}' for cfg in named_types(values)
                    if not is_registered(cfg['type'])]
    assert not missing, missing


def test_timm_names_exist_and_build(page):
    import timm
    towers = [cfg for block in page.configs for cfg in named_types(config_lines(block))
              if cfg['type'] == 'TimmImageTower']
    assert towers
    from zerovl.registry import MODELS
    for cfg in towers:
        assert timm.is_model(cfg['model_name']), cfg
        if not cfg.get('pretrained') and not cfg.get('checkpoint'):  # builds offline
            tower = MODELS.build({key: value for key, value in cfg.items() if key != '_delete_'})
            assert tower(torch.randn(2, 3, 64, 64)).shape == (2, tower.out_dim)


def _agrees(part, whole) -> bool:
    """``part`` is contained in ``whole``: dicts key by key (ignoring _delete_), everything else equal."""
    if isinstance(part, dict):
        return isinstance(whole, dict) and all(
            key in whole and _agrees(value, whole[key]) for key, value in part.items() if key != '_delete_')
    if isinstance(part, (list, tuple)):
        return isinstance(whole, (list, tuple)) and len(part) == len(whole) and all(
            _agrees(a, b) for a, b in zip(part, whole))
    return part == whole


def test_config_lines_about_my_project_agree_with_the_full_config(page):
    cfg = full_config(page)
    whole = cfg.to_dict()
    checked = 0
    for block in page.configs:
        values = config_lines(block)
        if PACKAGE not in block.text and not any(_is_page_class(cfg['type']) for cfg in named_types(values)):
            continue  # lines about zerovl's own towers
        for key, value in values.items():
            if key == 'custom_imports':  # a config that needs fewer modules lists fewer
                assert set(value['imports']) <= set(whole['custom_imports']['imports']), block.line
                assert value['allow_failed_imports'] is False
            else:
                assert _agrees(value, whole[key]), f'docs/customize.md:{block.line}: {key} differs from {FULL_CONFIG}'
        checked += 1
    assert checked >= 5


def _is_page_class(type_name: str) -> bool:
    return any(getattr(reg.get(type_name), '__module__', '').startswith(PACKAGE + '.') for reg in _registries())


# ------------------------------------------------------------------------------------------- towers
def tiny_batch(batch: int = 4, size: int = 32, vocab: int = 128):
    generator = torch.Generator().manual_seed(0)
    mask = torch.ones(batch, 25, dtype=torch.long)
    mask[:, 10:] = 0
    return dict(images=torch.randn(batch, 3, size, size, generator=generator),
                input_ids=torch.randint(0, vocab, (batch, 25), generator=generator), attention_mask=mask)


def test_the_custom_towers_embed_a_batch_in_the_configured_dual_encoder(page):
    from zerovl.registry import MODELS
    model_cfg = full_config(page).model
    assert (model_cfg.image_tower.type, model_cfg.text_tower.type) == ('MyConvTower', 'MeanEmbeddingTextTower')
    model = MODELS.build(model_cfg)
    towers = (model.image_tower, model.text_tower)
    assert [type(tower).__module__ for tower in towers] == ['my_project.towers'] * 2
    image_embeds, text_embeds = model(tiny_batch(), mode='tensor')
    assert image_embeds.shape == text_embeds.shape == (4, model_cfg.embed_dim)
    for embeds in (image_embeds, text_embeds):
        assert torch.isfinite(embeds).all()
        assert torch.allclose(embeds.norm(dim=1), torch.ones(4), atol=1e-5)
    (image_embeds @ text_embeds.T).diagonal().sum().backward()
    for tower in towers:
        grads = [param.grad for param in tower.parameters()]
        assert all(grad is not None for grad in grads) and any(grad.abs().sum() > 0 for grad in grads)
    # The page's own check ran too.
    assert page.ns['image_embeds'].shape == page.ns['text_embeds'].shape == (4, 64)


def test_the_text_tower_mean_pools_over_the_mask_only(page):
    from my_project.towers import MeanEmbeddingTextTower
    tower = MeanEmbeddingTextTower(vocab_size=10, dim=3)
    ids = torch.tensor([[1, 2, 7, 7]])
    expected = tower.embedding.weight[[1, 2]].mean(dim=0)
    assert torch.allclose(tower(ids, torch.tensor([[1, 1, 0, 0]]))[0], expected)


def test_the_hf_tower_reads_the_weights_in_the_local_folder(page):
    from transformers import AutoModel
    folder = page.root / 'work_dirs' / 'tiny_bert'
    assert (folder / 'config.json').is_file()
    tower = page.ns['tower']
    saved = AutoModel.from_pretrained(folder)
    saved_state = saved.state_dict()
    for key, value in tower.model.state_dict().items():
        assert torch.equal(value, saved_state[key]), key  # the saved weights, not a fresh random init
    batch = tiny_batch(vocab=128)
    hidden = saved(input_ids=batch['input_ids'], attention_mask=batch['attention_mask']).last_hidden_state
    mask = batch['attention_mask'].unsqueeze(-1).float()
    expected = (hidden * mask).sum(1) / mask.sum(1)
    assert torch.allclose(tower(batch['input_ids'], batch['attention_mask']), expected, atol=1e-5)
    assert tower.out_dim == 32 and page.ns['features'].shape == (2, 32)


# --------------------------------------------------------------------------------------------- loss
def reference_loss(image_embeds, text_embeds, tau, smoothing, mix=None):
    """Written out from the definition: CE with target (1 - s)·onehot + s/N, both directions, halved."""
    def cross_entropy(logits, targets):
        log_p = logits.log_softmax(dim=1)
        num = logits.shape[1]
        soft = torch.full_like(log_p, smoothing / num)
        soft[torch.arange(len(targets)), targets] += 1 - smoothing
        return -(soft * log_p).sum(dim=1).mean()

    targets = torch.arange(len(image_embeds))
    total = 0
    for logits in (image_embeds @ text_embeds.T / tau, text_embeds @ image_embeds.T / tau):
        loss = cross_entropy(logits, targets)
        if mix is not None:
            lam, partner = mix
            loss = lam * loss + (1 - lam) * cross_entropy(logits, targets[partner])
        total = total + loss / 2
    return total


def unit_rows(*shape, seed=0):
    return F.normalize(torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64), dim=1)


def test_the_loss_matches_its_definition_with_and_without_mixup(page):
    from my_project.losses import LabelSmoothingInfoNCE
    images, texts = unit_rows(6, 16, seed=1), unit_rows(6, 16, seed=2)
    partner = torch.arange(5, -1, -1)
    for smoothing in (0.0, 0.1, 0.3):
        loss_module = LabelSmoothingInfoNCE(smoothing=smoothing, temperature=dict(init=0.05)).double()
        for mix in (None, (0.7, partner)):
            got = loss_module(images, texts, mix=mix)
            assert torch.allclose(got, reference_loss(images, texts, 0.05, smoothing, mix), atol=1e-10)


def test_the_loss_without_smoothing_is_infonce(page):
    from my_project.losses import LabelSmoothingInfoNCE
    from zerovl.models.losses import InfoNCELoss
    images, texts = unit_rows(8, 16, seed=3), unit_rows(8, 16, seed=4)
    mix = (0.8, torch.arange(7, -1, -1))
    for m in (None, mix):
        ours = LabelSmoothingInfoNCE(smoothing=0.0, temperature=dict(init=0.02))(images, texts, mix=m)
        theirs = InfoNCELoss(temperature=dict(init=0.02))(images, texts, mix=m)
        assert torch.allclose(ours, theirs, atol=1e-10)


def test_the_loss_is_finite_and_trains_everything_it_should(page):
    from my_project.losses import LabelSmoothingInfoNCE
    loss_module = LabelSmoothingInfoNCE(smoothing=0.1, temperature=dict(init=0.05, learnable=True))
    images = unit_rows(8, 16, seed=5).float().requires_grad_()
    texts = unit_rows(8, 16, seed=6).float().requires_grad_()
    loss = loss_module(images, texts)
    loss.backward()
    assert torch.isfinite(loss)
    for grad in (images.grad, texts.grad, loss_module.temperature.value.grad):
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0
    assert math.isfinite(page.ns['loss'].item()) and page.ns['image_rows'].grad.norm() > 0


# ------------------------------------------------------------------------------------------ sampler
def toy_concat(sizes=(10, 6)):
    from torch.utils.data import ConcatDataset
    start = 0
    parts = []
    for size in sizes:
        parts.append(list(range(start, start + size)))
        start += size
    return ConcatDataset(parts)


def test_the_sampler_gives_alternating_single_dataset_batches(page):
    from mmengine.dataset import DefaultSampler
    from zerovl.registry import DATA_SAMPLERS
    cfg = full_config(page).train_dataloader.batch_sampler
    dataset = toy_concat((10, 6, 9))
    sampler = DefaultSampler(dataset, seed=3)
    batch_sampler = DATA_SAMPLERS.build(cfg, default_args=dict(sampler=sampler, batch_size=3))
    assert type(batch_sampler).__module__ == 'my_project.samplers'
    bounds = [(0, 10), (10, 16), (16, 25)]
    epoch0 = list(batch_sampler)
    assert len(epoch0) == len(batch_sampler) == 2 * 3  # min size 6 // 3 = 2 rounds of 3 datasets
    for step, batch in enumerate(epoch0):
        low, high = bounds[step % 3]
        assert len(batch) == 3 and all(low <= index < high for index in batch), (step, batch)
    flat = [index for batch in epoch0 for index in batch]
    assert len(set(flat)) == len(flat)  # nothing twice in an epoch
    assert list(batch_sampler) == epoch0  # the same epoch, the same order
    sampler.set_epoch(1)  # what DistSamplerSeedHook does
    assert list(batch_sampler) != epoch0


def test_the_sampler_shards_one_dataset_per_step_across_ranks(page, monkeypatch):
    from mmengine.dataset import DefaultSampler
    samplers_module = importlib.import_module('my_project.samplers')
    dataset = toy_concat((12, 8))
    per_rank = []
    for rank in range(2):
        monkeypatch.setattr(samplers_module, 'get_rank', lambda rank=rank: rank)
        monkeypatch.setattr(samplers_module, 'get_world_size', lambda: 2)
        per_rank.append(list(samplers_module.AlternatingBatchSampler(DefaultSampler(dataset, seed=5), batch_size=2)))
    assert len(per_rank[0]) == len(per_rank[1]) == 2 * 2  # 8 // (2 x 2) = 2 rounds of 2 datasets
    for step, (a, b) in enumerate(zip(*per_rank)):
        low, high = [(0, 12), (12, 20)][step % 2]
        assert all(low <= index < high for index in a + b)  # both ranks in the same dataset
        assert not set(a) & set(b)
    flat = [index for batches in per_rank for batch in batches for index in batch]
    assert len(set(flat)) == len(flat)


def test_the_page_sampler_check_printed_two_rounds(page):
    batches = list(page.ns['batches'])
    assert len(batches) == 4
    assert [all(page.ns['dataset'][i] >= 100 for i in batch) for batch in batches] == [False, True, False, True]


# --------------------------------------------------------------------------------------------- hook
def test_the_hook_stops_at_a_non_finite_loss_and_names_the_step(page):
    from my_project.hooks import FiniteLossHook
    hook = FiniteLossHook()
    runner = SimpleNamespace(iter=6, epoch=1)
    hook.after_train_iter(runner, 2, outputs=dict(loss=torch.tensor(0.5)))
    for bad in (float('nan'), float('inf'), -float('inf')):
        with pytest.raises(FloatingPointError, match=r'at iteration 7 \(epoch 2, batch 3\)'):
            hook.after_train_iter(runner, 2, outputs=dict(loss=torch.tensor(bad)))
    assert page.ns['message'].startswith('loss is nan at iteration 42 (epoch 1, batch 42);')


# ------------------------------------------------------------------------------------------- metric
def brute_force_ranks(image_embeds, text_embeds, text_to_image):
    """1-based rank of each caption's image by a full sort (random data, so no ties)."""
    order = torch.argsort(text_embeds @ image_embeds.T, dim=1, descending=True)
    return (order == text_to_image[:, None]).float().argmax(dim=1).numpy() + 1


def test_the_metric_matches_a_brute_force_sort(page):
    from my_project.metrics import MedianRankMetric
    generator = torch.Generator().manual_seed(7)
    predictions, expected = [], {}
    for name, num_images in (('a', 30), ('b', 17)):
        images = F.normalize(torch.randn(num_images, 8, generator=generator), dim=1)
        owners = torch.randint(0, num_images, (4 * num_images,), generator=generator)
        owners[:num_images] = torch.arange(num_images)  # every image has a caption
        owners = owners[torch.randperm(len(owners), generator=generator)]  # shuffled caption order
        texts = F.normalize(images[owners] + 1.5 * torch.randn(len(owners), 8, generator=generator), dim=1)
        # The image ids are not the row numbers: the metric must group by id, in first-seen order.
        predictions += [dict(dataset_name=name, image_id=f'{name}-{int(owner) * 7}', image_embed=images[owner],
                             text_embed=text) for owner, text in zip(owners, texts)]
        ranks = brute_force_ranks(images, texts, owners)
        expected[f'{name}/t2i_medr'] = float(np.median(ranks))
        expected[f'{name}/t2i_meanr'] = float(ranks.mean())
    metric = MedianRankMetric()
    for start in range(0, len(predictions), 10):  # batch by batch, as the loop feeds it
        metric.process(None, predictions[start:start + 10])
    got = metric.evaluate(size=len(predictions))
    assert got.keys() == expected.keys()
    for key in expected:
        assert got[key] == pytest.approx(expected[key], abs=1e-9), key
    assert 1 < got['a/t2i_medr'] < 30  # neither perfect nor chance


def test_the_page_metric_example_prints_what_it_says(page):
    assert page.ns['scores'] == {'toy/t2i_medr': 1.0, 'toy/t2i_meanr': 1.375}


# ----------------------------------------------------------------------------------- the whole run
def test_the_full_config_trains_one_small_epoch_through_the_runner(page, synthetic_root):
    from mmengine.runner import Runner
    from zerovl.testing import point_config_at
    cfg = full_config(page)
    point_config_at(cfg, synthetic_root)
    cfg.work_dir = str(page.root / 'work_dirs' / 'run')
    for key, size in (('train_dataloader', 8), ('val_dataloader', 16)):
        cfg[key].update(batch_size=size, num_workers=0, persistent_workers=False)
    cfg.test_dataloader = cfg.val_dataloader
    cfg.model.image_tower.width = 8
    cfg.model.dga.sub_batch_size = 4  # DGA stays on, in two sub-batches
    cfg.train_cfg.update(max_epochs=1, val_interval=1)
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger.interval = 1

    runner = Runner.from_cfg(cfg)
    hook = next(h for h in runner.hooks if type(h).__name__ == 'FiniteLossHook')
    assert type(hook).__module__ == 'my_project.hooks'
    seen, val_metrics = [], []
    original = hook.after_train_iter

    def spy(runner_, batch_idx, data_batch=None, outputs=None):
        seen.append(({sample['dataset_name'] for sample in data_batch['data_samples']}, float(outputs['loss'])))
        return original(runner_, batch_idx, data_batch, outputs)

    hook.after_train_iter = spy
    hook.after_val_epoch = lambda runner_, metrics=None: val_metrics.append(metrics)
    runner.train()

    # 48 + 16 training pairs, batch 8: 16 // 8 = 2 rounds of (synth_a, synth_b).
    assert len(runner.train_dataloader) == 4
    assert type(runner.train_dataloader.batch_sampler).__name__ == 'AlternatingBatchSampler'
    assert [names for names, _ in seen] == [{'synth_a'}, {'synth_b'}] * 2
    assert all(math.isfinite(loss) for _, loss in seen)
    assert type(runner.model.loss_module).__name__ == 'LabelSmoothingInfoNCE'
    metrics = val_metrics[-1]
    for name in ('synth_a', 'synth_b'):
        assert 1 <= metrics[f'{name}/t2i_medr'] <= 8 and 1 <= metrics[f'{name}/t2i_meanr'] <= 8  # 8 images
        assert f'{name}/rsum' in metrics
