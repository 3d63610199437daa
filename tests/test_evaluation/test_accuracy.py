"""ClassificationAccuracy against a brute-force count on random scores with many ties and two datasets."""
import pytest
import torch

from zerovl.evaluation import ClassificationAccuracy, topk_accuracy


def brute_force_topk(scores, labels, k):
    """Percent of samples with fewer than k *other* classes scoring >= the true class (ties count against)."""
    hits = 0
    for row, label in zip(scores.tolist(), labels.tolist()):
        competitors = sum(1 for c, s in enumerate(row) if c != label and s >= row[label])
        hits += competitors < k
    return 100.0 * hits / len(labels)


def predictions(scores, labels, dataset_name):
    return [dict(pred_score=s, gt_label=int(l), dataset_name=dataset_name, sample_idx=i)
            for i, (s, l) in enumerate(zip(scores, labels))]


def random_problem(seed, num, num_classes, levels):
    """Scores drawn from only ``levels`` values, so most rows hold ties, some involving the true class."""
    generator = torch.Generator().manual_seed(seed)
    scores = torch.randint(0, levels, (num, num_classes), generator=generator).float()
    labels = torch.randint(0, num_classes, (num,), generator=generator)
    return scores, labels


def test_matches_brute_force_per_dataset_with_ties():
    scores_a, labels_a = random_problem(0, 200, 10, levels=4)
    scores_b, labels_b = random_problem(1, 150, 7, levels=3)
    metric = ClassificationAccuracy(topk=(1, 2, 5))
    # Interleaved batches of two datasets, as a ConcatDataset evaluation delivers them.
    metric.process(None, predictions(scores_a[:100], labels_a[:100], 'a'))
    metric.process(None, predictions(scores_b, labels_b, 'b'))
    metric.process(None, predictions(scores_a[100:], labels_a[100:], 'a'))
    result = metric.evaluate(size=350)
    expected = {f'{name}/top{k}': brute_force_topk(scores, labels, k)
                for name, scores, labels in (('a', scores_a, labels_a), ('b', scores_b, labels_b))
                for k in (1, 2, 5)}
    assert result.keys() == expected.keys()
    for key, value in expected.items():
        assert result[key] == pytest.approx(value), key
    # The ties made a difference: counting only strictly higher classes as competitors gives more hits.
    true_scores = scores_a.gather(1, labels_a[:, None])
    optimistic_top1 = 100.0 * float(((scores_a > true_scores).sum(1) < 1).float().mean())
    assert result['a/top1'] < optimistic_top1


def test_without_ties_equals_a_topk_count():
    generator = torch.Generator().manual_seed(2)
    scores, labels = torch.randn(300, 20, generator=generator), torch.randint(0, 20, (300,), generator=generator)
    for k in (1, 5):
        in_topk = (scores.topk(k, dim=1).indices == labels[:, None]).any(dim=1)
        assert topk_accuracy(scores, labels, (k,))[f'top{k}'] == pytest.approx(100.0 * float(in_topk.float().mean()))


def test_all_equal_scores_count_as_wrong_and_perfect_scores_as_right():
    labels = torch.tensor([0, 1, 2, 2])
    assert topk_accuracy(torch.zeros(4, 3), labels, (1, 2)) == {'top1': 0.0, 'top2': 0.0}
    perfect = torch.nn.functional.one_hot(labels, 3).float()
    assert topk_accuracy(perfect, labels, (1,)) == {'top1': 100.0}


def test_distributed_padding_is_cut_by_evaluate_size():
    scores, labels = random_problem(3, 10, 5, levels=10)
    metric = ClassificationAccuracy(topk=(1,))
    padded = predictions(scores, labels, 'a') + predictions(scores[:2], labels[:2], 'a')  # sampler round-up
    metric.process(None, padded)
    assert len(metric.results) == 12  # one record per sample
    assert metric.evaluate(size=10) == {'a/top1': pytest.approx(brute_force_topk(scores, labels, 1))}


def test_records_are_compact_cpu_copies():
    batch = torch.randn(4, 3)
    metric = ClassificationAccuracy(topk=(1,))
    metric.process(None, predictions(batch, torch.tensor([0, 1, 2, 0]), 'a'))
    record = metric.results[0]
    assert set(record) == {'pred_score', 'gt_label', 'dataset_name'}
    assert record['pred_score'].untyped_storage().nbytes() == 3 * 4  # its own row, not a view of the batch


def test_topk_larger_than_the_number_of_classes_is_an_error():
    metric = ClassificationAccuracy(topk=(1, 5))
    metric.process(None, predictions(torch.randn(3, 4), torch.tensor([0, 1, 2]), 'tiny'))
    with pytest.raises(ValueError, match=r"'tiny'.*topk \[5\] exceeds the 4 classes"):
        metric.evaluate(size=3)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match='positive ints'):
        ClassificationAccuracy(topk=(0,))
    metric = ClassificationAccuracy()
    with pytest.raises(KeyError, match='gt_label'):
        metric.process(None, [dict(pred_score=torch.zeros(3), dataset_name='a')])
    with pytest.raises(ValueError, match='NaN'):
        topk_accuracy(torch.tensor([[float('nan'), 0.0]]), torch.tensor([0]), (1,))
    with pytest.raises(ValueError, match='outside'):
        topk_accuracy(torch.zeros(1, 2), torch.tensor([2]), (1,))
