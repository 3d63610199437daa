"""Exactness tests for zerovl.evaluation.retrieval.

The reference below ranks by *sorting* the full similarity matrix, which is a different algorithm from
the chunked counting under test; ties are made pessimistic by sorting the true match after every equal
competitor. Tie-heavy cases use quantised embeddings whose dot products are exact in float32 and float64,
so both implementations see bit-identical scores and must agree exactly.
"""
import os
import pickle
import socket
import time

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from zerovl.evaluation import RetrievalMetric, retrieval_metrics
from zerovl.evaluation.retrieval import image_to_text_ranks, text_to_image_ranks
from zerovl.registry import METRICS

METRIC_NAMES = ['i2t_R@1', 'i2t_R@5', 'i2t_R@10', 't2i_R@1', 't2i_R@5', 't2i_R@10', 'rsum']


# --------------------------------------------------------------------------------------------------
# Brute-force reference (full matrix + sort)
# --------------------------------------------------------------------------------------------------

def reference_ranks(image_embeds, text_embeds, text_to_image):
    similarity = np.asarray(image_embeds, np.float64) @ np.asarray(text_embeds, np.float64).T  # (N_img, N_txt)
    text_to_image = np.asarray(text_to_image)
    t2i = []
    for caption in range(similarity.shape[1]):
        scores = similarity[:, caption]
        is_true = np.arange(len(scores)) == text_to_image[caption]
        # lexsort: primary key -score (descending score), secondary is_true (False first) => ties pessimistic.
        order = np.lexsort((is_true, -scores))
        t2i.append(int(np.flatnonzero(order == text_to_image[caption])[0]))
    i2t = []
    for image in range(similarity.shape[0]):
        scores = similarity[image]
        is_own = text_to_image == image
        order = np.lexsort((is_own, -scores))
        # Everything sorted before the first own caption is a foreign caption scoring >= the best own one.
        i2t.append(int(np.flatnonzero(is_own[order])[0]))
    return np.array(i2t), np.array(t2i)


def reference_metrics(image_embeds, text_embeds, text_to_image):
    i2t, t2i = reference_ranks(image_embeds, text_embeds, text_to_image)
    metrics = {}
    for direction, ranks in (('i2t', i2t), ('t2i', t2i)):
        for k in (1, 5, 10):
            metrics[f'{direction}_R@{k}'] = 100.0 * sum(1 for r in ranks if r < k) / len(ranks)
    metrics['rsum'] = sum(metrics.values())
    return metrics


def assert_same_metrics(actual, expected):
    assert list(actual) == METRIC_NAMES
    for name in METRIC_NAMES:
        assert actual[name] == pytest.approx(expected[name], abs=1e-9), name


# --------------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------------

def gaussian_case(num_images=23, captions_per_image=5, dim=16, noise=1.5, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.standard_normal((num_images, dim))
    text_to_image = np.repeat(np.arange(num_images), captions_per_image)
    texts = images[text_to_image] + noise * rng.standard_normal((len(text_to_image), dim))
    return images, texts, text_to_image


def quantised(x, step=0.5, limit=2):
    # Multiples of 1/2 in [-1, 1]: every dot product of dim <= 64 is exact in float32, and ties abound.
    return np.clip(np.round(x / step), -limit, limit) * step


def tied_case(seed=1):
    """Quantised 4-d embeddings (many equal scores) with duplicated images and duplicated captions."""
    rng = np.random.default_rng(seed)
    images, texts, text_to_image = gaussian_case(num_images=20, captions_per_image=5, dim=4, noise=0.7, seed=seed)
    images = quantised(images)
    images[7] = images[3]                      # two different images with identical embeddings
    images[15] = images[0]
    texts = quantised(texts)
    texts[text_to_image == 9] = texts[np.flatnonzero(text_to_image == 2)[0]]  # captions copied across images
    texts[rng.integers(0, len(texts), 10)] = 0.0                              # all-zero captions tie with every image
    return images.astype(np.float32), texts.astype(np.float32), text_to_image


def uneven_case(seed=2):
    """Between 1 and 7 captions per image, shuffled caption order."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 8, size=17)
    text_to_image = rng.permutation(np.repeat(np.arange(17), counts))
    images = quantised(rng.standard_normal((17, 6)))
    texts = quantised(images[text_to_image] + 0.8 * rng.standard_normal((len(text_to_image), 6)))
    return images.astype(np.float32), texts.astype(np.float32), text_to_image


CASES = {'gaussian': gaussian_case, 'tied': tied_case, 'uneven': uneven_case}


# --------------------------------------------------------------------------------------------------
# retrieval_metrics == reference
# --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('case', sorted(CASES))
@pytest.mark.parametrize('chunk_size', [1, 7, 10_000])
def test_chunked_ranks_and_metrics_match_reference(case, chunk_size):
    images, texts, text_to_image = CASES[case]()
    ref_i2t, ref_t2i = reference_ranks(images, texts, text_to_image)
    tensors = torch.from_numpy(images), torch.from_numpy(texts), torch.from_numpy(text_to_image)

    assert image_to_text_ranks(*tensors, chunk_size=chunk_size).tolist() == ref_i2t.tolist()
    assert text_to_image_ranks(*tensors, chunk_size=chunk_size).tolist() == ref_t2i.tolist()
    assert_same_metrics(retrieval_metrics(*tensors, chunk_size=chunk_size),
                        reference_metrics(images, texts, text_to_image))


def test_tied_case_really_has_ties():
    # Guards the tie test against becoming vacuous if the data generator changes.
    images, texts, text_to_image = tied_case()
    similarity = images @ texts.T
    true_t2i = similarity[text_to_image, np.arange(len(text_to_image))]
    tied_with_true = (similarity == true_t2i[None, :]).sum(0) - 1
    assert (tied_with_true > 0).sum() >= 20
    # Pessimistic and optimistic ranks differ on this data, so tie handling is actually exercised.
    optimistic = (similarity > true_t2i[None, :]).sum(0)
    assert (text_to_image_ranks(images, texts, text_to_image).numpy() != optimistic).any()


def test_numpy_and_torch_inputs_agree():
    images, texts, text_to_image = uneven_case()
    from_numpy = retrieval_metrics(images, texts, text_to_image)
    from_torch = retrieval_metrics(torch.from_numpy(images), torch.from_numpy(texts), torch.from_numpy(text_to_image))
    assert from_numpy == from_torch


def test_half_precision_embeddings_are_scored_like_float32():
    images, texts, text_to_image = tied_case()   # quantised values are exact in fp16 too
    half = retrieval_metrics(torch.from_numpy(images).half(), torch.from_numpy(texts).half(), text_to_image)
    assert half == retrieval_metrics(images, texts, text_to_image)


# --------------------------------------------------------------------------------------------------
# Hand-computed cases
# --------------------------------------------------------------------------------------------------

def test_perfect_embeddings_score_600():
    images = torch.eye(12)
    text_to_image = torch.arange(12).repeat_interleave(5)
    metrics = retrieval_metrics(images, images[text_to_image], text_to_image, chunk_size=5)
    assert metrics == {name: (600.0 if name == 'rsum' else 100.0) for name in METRIC_NAMES}


def test_collapsed_embeddings_score_zero_at_r1():
    # All scores tie: pessimistic ranking puts every true match last, so a collapsed model gets no credit.
    images = torch.ones(12, 4)
    text_to_image = torch.arange(12).repeat_interleave(2)
    metrics = retrieval_metrics(images, torch.ones(24, 4), text_to_image)
    assert metrics['i2t_R@1'] == 0.0 and metrics['t2i_R@1'] == 0.0
    assert metrics['t2i_R@10'] == 0.0          # 11 tied competitors > 10
    assert metrics['i2t_R@10'] == 0.0          # 22 foreign captions tie


def test_small_case_with_ties_by_hand():
    # images I0=(1,0) I1=(0,1) I2=(1,1); captions c0->I0 (1,0), c1->I1 (0,1), c2->I2 (1,0), c3->I2 (0,-1)
    images = torch.tensor([[1., 0.], [0., 1.], [1., 1.]])
    texts = torch.tensor([[1., 0.], [0., 1.], [1., 0.], [0., -1.]])
    text_to_image = torch.tensor([0, 1, 2, 2])
    # T->I scores (I0, I1, I2): c0 (1,0,1) rank 1 [I2 ties]; c1 (0,1,1) rank 1; c2 (1,0,1) rank 1 [I0 ties];
    #                           c3 (0,-1,-1) rank 2 [I0 higher, I1 ties]
    assert text_to_image_ranks(images, texts, text_to_image).tolist() == [1, 1, 1, 2]
    # I->T scores (c0..c3): I0 (1,0,1,0) best own 1, c2 ties -> 1; I1 (0,1,0,-1) -> 0;
    #                       I2 (1,1,1,-1) best own 1 (c2), c0 and c1 tie -> 2
    assert image_to_text_ranks(images, texts, text_to_image).tolist() == [1, 0, 2]
    metrics = retrieval_metrics(images, texts, text_to_image)
    assert metrics['i2t_R@1'] == pytest.approx(100 / 3)
    assert metrics['t2i_R@1'] == 0.0
    assert all(metrics[name] == 100.0 for name in ['i2t_R@5', 'i2t_R@10', 't2i_R@5', 't2i_R@10'])
    assert metrics['rsum'] == pytest.approx(400 + 100 / 3)


@pytest.mark.parametrize('num_images, hit_at_10', [(10, True), (11, False)])
def test_recall_cutoff_is_strict_rank_below_k(num_images, hit_at_10):
    # Image k is (k+1) e_k; caption k is e_k (rank 0). One extra caption of image 0 is all-ones: it scores
    # k+1 with image k, so its true image (score 1) is last: rank num_images - 1 (9 -> hit at 10, 10 -> miss).
    images = torch.diag(torch.arange(1., num_images + 1))
    texts = torch.cat([torch.eye(num_images), torch.ones(1, num_images)])
    text_to_image = torch.cat([torch.arange(num_images), torch.tensor([0])])
    assert text_to_image_ranks(images, texts, text_to_image)[-1] == num_images - 1
    # I->T: image 0's best own caption scores 1 and no foreign caption reaches it -> rank 0; image k >= 1
    # ties its own caption (k+1) with the all-ones caption of image 0 -> rank 1.
    assert image_to_text_ranks(images, texts, text_to_image).tolist() == [0] + [1] * (num_images - 1)
    metrics = retrieval_metrics(images, texts, text_to_image, chunk_size=3)
    num_captions = num_images + 1
    assert metrics['t2i_R@1'] == metrics['t2i_R@5'] == pytest.approx(100 * num_images / num_captions)
    assert metrics['t2i_R@10'] == pytest.approx(100.0 if hit_at_10 else 100 * num_images / num_captions)
    assert metrics['i2t_R@1'] == pytest.approx(100 / num_images)
    assert metrics['i2t_R@5'] == metrics['i2t_R@10'] == 100.0


# --------------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------------

def test_image_without_caption_is_named():
    images, texts = torch.randn(4, 3), torch.randn(3, 3)
    with pytest.raises(ValueError, match=r'no caption.*image index 2'):
        retrieval_metrics(images, texts, torch.tensor([0, 1, 3]))


@pytest.mark.parametrize('images, texts, text_to_image, message', [
    (torch.randn(3, 4), torch.randn(3, 5), torch.tensor([0, 1, 2]), 'same width'),
    (torch.randn(3, 4), torch.randn(3, 4), torch.tensor([0, 1]), r'shape \(3,\)'),
    (torch.randn(3, 4), torch.randn(3, 4), torch.tensor([[0, 1, 2]]), r'shape \(3,\)'),
    (torch.randn(3, 4), torch.randn(3, 4), torch.tensor([0, 1, 3]), 'outside'),
    (torch.randn(3, 4), torch.randn(3, 4), torch.tensor([0., 1., 2.]), 'integer'),
    (torch.randn(4), torch.randn(3, 4), torch.tensor([0, 0, 0]), '2-D'),
    (torch.randn(0, 4), torch.randn(3, 4), torch.tensor([0, 0, 0]), 'empty'),
    (torch.full((3, 4), float('nan')), torch.randn(3, 4), torch.tensor([0, 1, 2]), 'NaN'),
])
def test_invalid_inputs_raise(images, texts, text_to_image, message):
    with pytest.raises(ValueError, match=message):
        retrieval_metrics(images, texts, text_to_image)


@pytest.mark.parametrize('chunk_size', [0, -1, 2.5])
def test_invalid_chunk_size_raises(chunk_size):
    with pytest.raises(ValueError, match='chunk_size'):
        retrieval_metrics(torch.eye(2), torch.eye(2), torch.tensor([0, 1]), chunk_size=chunk_size)


# --------------------------------------------------------------------------------------------------
# RetrievalMetric
# --------------------------------------------------------------------------------------------------

def pair_samples(images, texts, text_to_image, dataset_name, image_ids=None):
    """Model predict outputs: one dict per (image, caption) pair, the image embedding repeated per caption."""
    image_ids = list(range(len(images))) if image_ids is None else image_ids
    return [dict(image_embed=torch.as_tensor(images[i]), text_embed=torch.as_tensor(texts[j]),
                 image_id=image_ids[i], dataset_name=dataset_name)
            for j, i in enumerate(np.asarray(text_to_image).tolist())]


def test_metric_dedupes_images_groups_datasets_and_prefixes_keys():
    case_a, case_b = gaussian_case(num_images=9, seed=3), uneven_case(seed=4)
    samples_a = pair_samples(*case_a, 'synth_a', image_ids=[f'img{i}' for i in range(9)])
    samples_b = pair_samples(*case_b, 'synth_b', image_ids=list(range(100, 117)))
    # A later occurrence of an image carries a different embedding: only the first must be used.
    samples_a[1] = dict(samples_a[1], image_embed=torch.full_like(samples_a[1]['image_embed'], 1e3))
    # Datasets interleaved in the stream, as a concatenated val set with a shuffling sampler could produce.
    stream = [s for pair in zip(samples_a, samples_b[:len(samples_a)]) for s in pair] + samples_b[len(samples_a):]

    metric = METRICS.build(dict(type='RetrievalMetric', chunk_size=4))
    for start in range(0, len(stream), 8):
        metric.process(None, stream[start:start + 8])
    assert len(metric.results) == len(stream)
    result = metric.evaluate(size=len(stream))

    expected_a = reference_metrics(*case_a)
    expected_b = reference_metrics(*case_b)
    assert set(result) == ({f'synth_a/{n}' for n in METRIC_NAMES} | {f'synth_b/{n}' for n in METRIC_NAMES}
                           | {'mean_rsum'})
    for name in METRIC_NAMES:
        assert result[f'synth_a/{name}'] == pytest.approx(expected_a[name], abs=1e-9)
        assert result[f'synth_b/{name}'] == pytest.approx(expected_b[name], abs=1e-9)
    assert result['mean_rsum'] == pytest.approx((expected_a['rsum'] + expected_b['rsum']) / 2)
    assert metric.results == []                # BaseMetric.evaluate clears the buffer


def test_metric_single_dataset_has_no_mean_rsum_and_explicit_prefix_is_prepended():
    samples = pair_samples(*uneven_case(), 'coco')
    metric = RetrievalMetric()
    metric.process(None, samples)
    assert sorted(metric.evaluate(len(samples))) == sorted(f'coco/{n}' for n in METRIC_NAMES)

    prefixed = RetrievalMetric(prefix='val')
    prefixed.process(None, samples)
    assert sorted(prefixed.evaluate(len(samples))) == sorted(f'val/coco/{n}' for n in METRIC_NAMES)


def test_metric_stores_compact_cpu_copies():
    batch = torch.randn(4, 8)
    samples = [dict(image_embed=row, text_embed=row, image_id=torch.tensor(i), dataset_name='d')
               for i, row in enumerate(batch)]
    metric = RetrievalMetric()
    metric.process(None, samples)
    record = metric.results[0]
    assert record['image_embed'].untyped_storage().nbytes() == 8 * 4   # not the whole batch's storage
    assert record['image_id'] == 0 and isinstance(record['image_id'], int)


def test_metric_rejects_incomplete_predictions():
    with pytest.raises(KeyError, match='dataset_name'):
        RetrievalMetric().process(None, [dict(image_embed=torch.zeros(2), text_embed=torch.zeros(2), image_id=0)])


# --------------------------------------------------------------------------------------------------
# Distributed: 2 gloo processes, DefaultSampler(round_up=True) padding, evaluate(size)
# --------------------------------------------------------------------------------------------------

DIST_WORLD_SIZE = 2
DIST_BATCH_SIZE = 4


def distributed_dataset():
    """37 pairs (odd, so the 2-rank sampler pads one) from two datasets, quantised so that scores are exact
    whatever order the pairs arrive in."""
    images_a, texts_a, t2i_a = gaussian_case(num_images=5, captions_per_image=5, dim=8, noise=0.8, seed=5)
    images_b, texts_b, t2i_b = uneven_case(seed=6)
    samples = (pair_samples(quantised(images_a).astype(np.float32), quantised(texts_a).astype(np.float32),
                            t2i_a, 'synth_a')
               + pair_samples(images_b, texts_b, t2i_b, 'synth_b', image_ids=[f'b{i}' for i in range(17)]))
    return samples[:37]


def _evaluate_shard(dataset, shuffle, collect_dir):
    from mmengine.dataset import DefaultSampler
    sampler = DefaultSampler(dataset, shuffle=shuffle, seed=0, round_up=True)
    indices = list(sampler)
    metric = RetrievalMetric(collect_dir=collect_dir)
    for start in range(0, len(indices), DIST_BATCH_SIZE):
        metric.process(None, [dataset[i] for i in indices[start:start + DIST_BATCH_SIZE]])
    return indices, metric.evaluate(size=len(dataset))


def _distributed_worker(rank, port, out_dir):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=DIST_WORLD_SIZE)
    try:
        dataset = distributed_dataset()
        outputs = {}
        for shuffle in (False, True):
            outputs[shuffle] = _evaluate_shard(dataset, shuffle, os.path.join(out_dir, f'collect_{shuffle}'))
        with open(os.path.join(out_dir, f'rank{rank}.pkl'), 'wb') as f:
            pickle.dump(outputs, f)
        dist.barrier()
    finally:
        dist.destroy_process_group()


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _run_workers(out_dir, timeout_s=180):
    context = mp.spawn(_distributed_worker, args=(_free_port(), str(out_dir)), nprocs=DIST_WORLD_SIZE,
                       join=False)
    deadline = time.monotonic() + timeout_s
    while not context.join(timeout=1):
        if time.monotonic() > deadline:
            for process in context.processes:   # a deadlocked collective would otherwise hang the suite
                process.terminate()
            pytest.fail(f'distributed workers did not finish in {timeout_s}s')


@pytest.fixture(scope='module')
def distributed_outputs(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp('dist_retrieval')
    _run_workers(out_dir)
    outputs = []
    for rank in range(DIST_WORLD_SIZE):
        with open(out_dir / f'rank{rank}.pkl', 'rb') as f:
            outputs.append(pickle.load(f))
    return outputs


def _single_process_result(samples):
    metric = RetrievalMetric()
    metric.process(None, samples)
    return metric.evaluate(size=len(samples))


@pytest.mark.parametrize('shuffle', [False, True])
def test_distributed_evaluate_equals_single_process(distributed_outputs, shuffle):
    dataset = distributed_dataset()
    expected = _single_process_result(dataset)
    assert 'mean_rsum' in expected
    for rank in range(DIST_WORLD_SIZE):
        _, result = distributed_outputs[rank][shuffle]
        assert result == expected   # exact: same pairs, same order after collect_results, exact scores


@pytest.mark.parametrize('shuffle', [False, True])
def test_distributed_shards_are_padded_and_untruncated_results_differ(distributed_outputs, shuffle):
    dataset = distributed_dataset()
    shards = [distributed_outputs[rank][shuffle][0] for rank in range(DIST_WORLD_SIZE)]
    all_indices = [i for shard in shards for i in shard]
    # The padding really happened: 38 entries for 37 items, every item present, exactly one repeated.
    assert len(dataset) % DIST_WORLD_SIZE == 1
    assert len(all_indices) == len(dataset) + 1
    assert sorted(set(all_indices)) == list(range(len(dataset)))
    assert len(all_indices) - len(set(all_indices)) == 1

    # Negative control: metrics over every processed pair, padded copy included, are different numbers;
    # only collect_results' truncation to `size` makes the distributed result right.
    untruncated = RetrievalMetric()
    untruncated.process(None, [dataset[i] for i in all_indices])
    assert untruncated.compute_metrics(untruncated.results) != _single_process_result(dataset)


NOISY_CASES = dict(CASES, gaussian=lambda: gaussian_case(num_images=40, noise=4.0, seed=3))


@pytest.mark.parametrize('case', sorted(NOISY_CASES))
@pytest.mark.parametrize('chunk_size', [1, 13, 10_000])
def test_one_pass_scan_equals_full_ranks_capped_at_ten(case, chunk_size):
    # retrieval_metrics scans once and keeps only each image's 10 best foreign captions; its I→T ranks
    # must be the full ranks wherever they are below 10 (all that R@1/5/10 read), and 10 otherwise.
    from zerovl.evaluation.retrieval import _prepare, _scan_captions
    images, texts, text_to_image = NOISY_CASES[case]()
    prepared = _prepare(images, texts, text_to_image, chunk_size)
    i2t, t2i = _scan_captions(*prepared, chunk_size, top_k=10)
    full_i2t = image_to_text_ranks(images, texts, text_to_image)
    assert (full_i2t >= 10).any() and (full_i2t < 10).any()  # both sides of the cap are exercised
    assert i2t.tolist() == full_i2t.clamp(max=10).tolist()
    assert t2i.tolist() == text_to_image_ranks(images, texts, text_to_image).tolist()


# --------------------------------------------------------------------------------------------------
# On a chosen device: the same ranks as the CPU path and the reference, bounded chunk memory
# --------------------------------------------------------------------------------------------------

# The device code path (inputs moved with .to(device), computed there) runs on the CPU everywhere and on
# CUDA where a GPU is visible.
DEVICES = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])


@pytest.mark.parametrize('device', DEVICES)
@pytest.mark.parametrize('case', sorted(NOISY_CASES))
@pytest.mark.parametrize('chunk_size', [1, 7, 10_000])
def test_device_path_ranks_and_recalls_equal_reference_and_cpu(device, case, chunk_size):
    from zerovl.evaluation.retrieval import retrieval_ranks
    images, texts, text_to_image = NOISY_CASES[case]()   # numpy: the device path does the moving
    i2t, t2i = retrieval_ranks(images, texts, text_to_image, chunk_size=chunk_size, device=device)
    assert i2t.device.type == t2i.device.type == device
    ref_i2t, ref_t2i = reference_ranks(images, texts, text_to_image)
    assert i2t.tolist() == np.minimum(ref_i2t, 10).tolist()     # exact below 10, all R@1/5/10 read
    assert t2i.tolist() == ref_t2i.tolist()
    on_device = retrieval_metrics(images, texts, text_to_image, chunk_size=chunk_size, device=device)
    assert on_device == retrieval_metrics(torch.from_numpy(images), torch.from_numpy(texts),
                                          torch.from_numpy(text_to_image))   # where the inputs are
    assert_same_metrics(on_device, reference_metrics(images, texts, text_to_image))


def test_device_path_sends_the_inputs_to_the_device(monkeypatch):
    # On a CPU-only machine the inputs already are on the device asked for, so the move is only
    # observable as the call that makes it (with a GPU, the test above also checks where the ranks are).
    from zerovl.evaluation.retrieval import retrieval_ranks
    targets = []
    real_to = torch.Tensor.to

    def spying_to(tensor, *args, **kwargs):
        targets.append((tuple(tensor.shape), str(args[0]) if args else kwargs.get('device')))
        return real_to(tensor, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, 'to', spying_to)
    images, texts, text_to_image = uneven_case()
    retrieval_ranks(images, texts, text_to_image, device='cpu')
    for embeds in (images, texts, text_to_image):
        assert (embeds.shape, 'cpu') in targets


def half_rounding_case():
    """Caption 0's true image beats image 1 by 2**-14 in float32, but its score 1 + 2**-6 + 2**-14 rounds
    to image 1's exact 1 + 2**-6 in fp16 and bf16: scored in half precision, the pessimistic tie rule
    would rank it 1 instead of 0. Every input value is exact in fp16 and bf16."""
    step = 2.0 ** -7
    images = torch.tensor([[1 + step, 0.0], [1.0, step]])
    texts = torch.tensor([[1 + step, 1.0], [0.0, 1.0]])
    return images, texts, torch.tensor([0, 1])


@pytest.mark.parametrize('device', DEVICES)
@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_device_path_scores_half_embeddings_in_float32(device, dtype):
    from zerovl.evaluation.retrieval import retrieval_ranks
    images, texts, text_to_image = half_rounding_case()
    assert torch.equal(images.to(dtype).float(), images) and torch.equal(texts.to(dtype).float(), texts)
    assert (images.to(dtype) @ texts.to(dtype).T)[:, 0].unique().numel() == 1  # the half product ties
    assert reference_ranks(images, texts, text_to_image)[1].tolist() == [0, 0]
    _, t2i = retrieval_ranks(images.to(dtype), texts.to(dtype), text_to_image, device=device)
    assert t2i.tolist() == [0, 0]
    # And on the tie-heavy case, half inputs give the float32 recalls.
    tied = tied_case()
    assert (retrieval_metrics(torch.from_numpy(tied[0]).to(dtype), torch.from_numpy(tied[1]).to(dtype), tied[2],
                              chunk_size=7, device=device) == retrieval_metrics(*tied))


def test_scan_runs_ieee_fp32_matmuls_even_where_the_process_allows_tf32_or_bf16(monkeypatch):
    import zerovl.evaluation.retrieval as retrieval
    backends = (torch.backends.cuda.matmul, torch.backends.mkldnn.matmul)
    seen = []
    real_scan = retrieval._scan_captions

    def spying_scan(*args, **kwargs):
        seen.append(tuple(backend.fp32_precision for backend in backends))
        return real_scan(*args, **kwargs)

    monkeypatch.setattr(retrieval, '_scan_captions', spying_scan)
    previous = [backend.fp32_precision for backend in backends]
    try:
        torch.backends.cuda.matmul.fp32_precision = 'tf32'
        torch.backends.mkldnn.matmul.fp32_precision = 'bf16'
        retrieval_metrics(*uneven_case(), device='cpu')
        assert seen == [('ieee', 'ieee')]
        assert (torch.backends.cuda.matmul.fp32_precision, torch.backends.mkldnn.matmul.fp32_precision) == \
            ('tf32', 'bf16')                                    # the caller's settings are restored
    finally:
        for backend, precision in zip(backends, previous):
            backend.fp32_precision = precision


def test_max_chunk_bytes_lowers_the_chunk_and_keeps_the_ranks(monkeypatch):
    import zerovl.evaluation.retrieval as retrieval
    images, texts, text_to_image = tied_case()
    per_caption = retrieval.working_bytes_per_caption(len(images))
    assert per_caption == len(images) * 12                      # scores, comparisons, top-k slack (fp32)
    assert retrieval.working_bytes_per_caption(len(images), torch.float64) == len(images) * 24
    assert retrieval.chunk_size_within(None, len(images), 1024) == 1024
    assert retrieval.chunk_size_within(3 * per_caption + 1, len(images), 1024) == 3
    assert retrieval.chunk_size_within(10 ** 9, len(images), 64) == 64   # a budget never raises the chunk
    chunk_sizes = []
    real_scan = retrieval._scan_captions
    monkeypatch.setattr(retrieval, '_scan_captions',
                        lambda *args, **kwargs: chunk_sizes.append(args[3]) or real_scan(*args, **kwargs))
    metrics = retrieval_metrics(images, texts, text_to_image, device='cpu', max_chunk_bytes=3 * per_caption)
    assert chunk_sizes == [3]
    assert_same_metrics(metrics, reference_metrics(images, texts, text_to_image))


@pytest.mark.parametrize('max_chunk_bytes, message', [(0, 'positive int'), (2.5, 'positive int'),
                                                      (100, 'raise max_chunk_bytes')])
def test_invalid_max_chunk_bytes_is_named(max_chunk_bytes, message):
    with pytest.raises(ValueError, match=f'max_chunk_bytes.*{message}|{message}'):
        retrieval_metrics(*tied_case(), max_chunk_bytes=max_chunk_bytes)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='measures CUDA memory')
def test_cuda_chunk_memory_stays_within_max_chunk_bytes():
    from zerovl.evaluation.retrieval import retrieval_ranks
    num_images, num_captions, budget = 20_000, 60_000, 64 * 2 ** 20
    images = torch.nn.functional.normalize(torch.randn(num_images, 64, device='cuda'), dim=1)
    text_to_image = torch.arange(num_images, device='cuda').repeat_interleave(3)
    texts = torch.nn.functional.normalize(images[text_to_image] + torch.randn(num_captions, 64, device='cuda'), dim=1)
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    retrieval_ranks(images, texts, text_to_image, chunk_size=10 ** 6, max_chunk_bytes=budget)
    torch.cuda.synchronize()
    # Beyond the chunk: the top-10 state and its selection temporaries (~400 B per image), the ranks and
    # indices (~32 B per caption).
    fixed = num_images * 400 + num_captions * 32
    assert torch.cuda.max_memory_allocated() - before <= budget + fixed


def test_metric_device_option(monkeypatch):
    import zerovl.evaluation.retrieval_metric as retrieval_metric
    from zerovl.utils.device import DeviceUnavailableError, pinned_device
    assert RetrievalMetric(device='cpu').compute_device() == 'cpu'
    with pinned_device('cpu'):                                  # auto follows a run pinned to the CPU
        assert RetrievalMetric().compute_device() == 'cpu'
    monkeypatch.setattr(retrieval_metric, 'training_device', lambda: 'cuda')
    assert RetrievalMetric().compute_device() == 'cuda'
    with pytest.raises(ValueError, match="RetrievalMetric device='gpu'"):
        RetrievalMetric(device='gpu')
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with pytest.raises(DeviceUnavailableError, match='RetrievalMetric device=cuda'):
        RetrievalMetric(device='cuda')
    with pytest.raises(ValueError, match='max_chunk_bytes'):
        RetrievalMetric(max_chunk_bytes=-1)


@pytest.mark.parametrize('device', DEVICES)
def test_metric_computes_on_its_device_within_its_budget(device, monkeypatch):
    import zerovl.evaluation.retrieval as retrieval
    import zerovl.evaluation.retrieval_metric as retrieval_metric
    images, texts, text_to_image = tied_case()
    calls = []
    real_scan = retrieval._scan_captions

    def spying_scan(image_embeds, *args, **kwargs):
        calls.append((image_embeds.device.type, args[2]))
        return real_scan(image_embeds, *args, **kwargs)

    monkeypatch.setattr(retrieval, '_scan_captions', spying_scan)
    requested = []
    monkeypatch.setattr(retrieval_metric, 'retrieval_metrics',
                        lambda *args, **kwargs: requested.append(kwargs['device']) or
                        retrieval.retrieval_metrics(*args, **kwargs))
    per_caption = retrieval.working_bytes_per_caption(len(images))
    metric = RetrievalMetric(device=device, chunk_size=64, max_chunk_bytes=5 * per_caption)
    samples = pair_samples(images, texts, text_to_image, 'tied')
    metric.process(None, samples)
    result = metric.evaluate(len(samples))
    assert calls == [(device, 5)] and requested == [device]
    expected = reference_metrics(images, texts, text_to_image)
    assert {name: result[f'tied/{name}'] for name in METRIC_NAMES} == pytest.approx(expected, abs=1e-9)
