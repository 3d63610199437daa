"""DomainGapMetric against brute-force pairwise cosines, and its behaviour on separated vs mixed domains."""
import itertools

import pytest
import torch

from zerovl.evaluation.domain_gap import DomainGapMetric, domain_gap, mean_pairwise_cosine, nearest_centroid_accuracy


def unit_rows(n, d, generator, shift=None):
    x = torch.randn(n, d, generator=generator, dtype=torch.float64)
    if shift is not None:
        x = x + shift
    return torch.nn.functional.normalize(x, dim=1)


def brute_force_gap(groups):
    def mean_cos(a, b, same):
        values = [float(a[i] @ b[j]) for i in range(len(a)) for j in range(len(b)) if not (same and i == j)]
        return sum(values) / len(values)
    within = sum(mean_cos(g, g, True) for g in groups) / len(groups)
    pairs = list(itertools.combinations(groups, 2))
    return within - sum(mean_cos(a, b, False) for a, b in pairs) / len(pairs)


@pytest.mark.parametrize('num_domains', [2, 3])
def test_domain_gap_equals_brute_force(num_domains):
    g = torch.Generator().manual_seed(num_domains)
    groups = [unit_rows(5 + 3 * k, 6, g, shift=torch.randn(6, generator=g, dtype=torch.float64)) for k in range(num_domains)]
    assert domain_gap(groups) == pytest.approx(brute_force_gap(groups), abs=1e-12)
    a = groups[0]
    assert mean_pairwise_cosine(a, a, same=True) == pytest.approx(
        sum(float(a[i] @ a[j]) for i in range(len(a)) for j in range(len(a)) if i != j) / (len(a) * (len(a) - 1)))


def test_separated_domains_have_a_large_gap_and_mixed_ones_none():
    g = torch.Generator().manual_seed(0)
    direction = torch.zeros(8, dtype=torch.float64)
    direction[0] = 4.0
    separated = [unit_rows(200, 8, g, direction), unit_rows(200, 8, g, -direction)]
    mixed = [unit_rows(200, 8, g), unit_rows(200, 8, g)]
    assert domain_gap(separated) > 1.0
    assert abs(domain_gap(mixed)) < 0.02
    assert nearest_centroid_accuracy(separated) == 100.0
    assert 30.0 < nearest_centroid_accuracy(mixed) < 70.0


def predictions(domain_embeds):
    """One record per (image, caption): two captions per image, so images must be deduplicated."""
    samples = []
    for name, (images, texts) in domain_embeds.items():
        for i, image in enumerate(images):
            for t in texts[2 * i: 2 * i + 2]:
                samples.append(dict(image_embed=image, text_embed=t, image_id=i, dataset_name=name))
    return samples


def test_metric_deduplicates_images_and_reports_both_modalities():
    g = torch.Generator().manual_seed(1)
    shift = torch.zeros(6, dtype=torch.float64)
    shift[1] = 3.0
    embeds = {'a': (unit_rows(10, 6, g, shift), unit_rows(20, 6, g)),
              'b': (unit_rows(10, 6, g, -shift), unit_rows(20, 6, g))}
    metric = DomainGapMetric()
    metric.process(None, predictions(embeds))
    result = metric.compute_metrics(metric.results)
    assert result['domain_gap/image'] == pytest.approx(brute_force_gap([embeds['a'][0], embeds['b'][0]]), abs=1e-6)
    assert result['domain_gap/text'] == pytest.approx(brute_force_gap([embeds['a'][1], embeds['b'][1]]), abs=1e-6)
    assert result['domain_probe/image_acc'] == 100.0


def test_metric_needs_two_domains():
    g = torch.Generator().manual_seed(2)
    metric = DomainGapMetric()
    metric.process(None, predictions({'only': (unit_rows(4, 6, g), unit_rows(8, 6, g))}))
    with pytest.raises(ValueError, match='at least two evaluation datasets'):
        metric.compute_metrics(metric.results)
