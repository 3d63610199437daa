"""top_k on embeddings whose answer is known by construction."""
import math

import pytest
import torch

from zerovl.apis.ranking import top_k


def unit(angle_degrees: float) -> list:
    radians = math.radians(angle_degrees)
    return [math.cos(radians), math.sin(radians)]


def test_nearest_angles_come_first():
    # Gallery directions at 0, 90, 180, 270, 30 degrees; a query at 20 degrees is closest to 30, then 0,
    # then 90, and farthest from 180.
    gallery = torch.tensor([unit(0), unit(90), unit(180), unit(270), unit(30)])
    queries = torch.tensor([unit(20), unit(100)])
    scores, indices = top_k(queries, gallery, 3)
    assert indices.tolist() == [[4, 0, 1], [1, 4, 2]]
    angles_to_matches = [(10, 20, 70), (10, 70, 80)]
    expected = [[math.cos(math.radians(angle)) for angle in row] for row in angles_to_matches]
    torch.testing.assert_close(scores, torch.tensor(expected))


def test_equal_scores_keep_gallery_order():
    gallery = torch.tensor([unit(90), unit(0), unit(0), unit(0)])
    _, indices = top_k(torch.tensor([unit(0)]), gallery, 4)
    assert indices.tolist() == [[1, 2, 3, 0]]


@pytest.mark.parametrize('k', [0, 4, 2.0, True])
def test_k_outside_the_gallery_is_refused(k):
    with pytest.raises(ValueError, match=r'k must be an int in \[1, 3\]'):
        top_k(torch.zeros(1, 2), torch.zeros(3, 2), k)


def test_widths_must_match():
    with pytest.raises(ValueError, match='width'):
        top_k(torch.zeros(1, 2), torch.zeros(3, 4), 1)
