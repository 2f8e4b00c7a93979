"""Property tests of the direction aggregators and of streamed extraction."""

from __future__ import annotations

import pytest
import torch

from circuits.directions.aggregators import CenteredSums, aggregate, centered_contrast, one_vs_rest, unit
from circuits.vocab import Aggregator

G, E, S, D = 40, 6, 3, 16


def _data(seed=0):
    g = torch.Generator().manual_seed(seed)
    content = torch.randn(G, 1, S, D, generator=g) * 5  # the situation, shared by a group
    emotion = torch.randn(1, E, S, D, generator=g)  # the emotion signal, shared across groups
    noise = 0.3 * torch.randn(G, E, S, D, generator=g)
    return content + emotion + noise, emotion[0]


@pytest.mark.parametrize("kind", list(Aggregator))
def test_directions_are_unit_norm(kind):
    x, _ = _data()
    vec, _ = aggregate(kind, x)
    assert torch.allclose(vec.norm(dim=-1), torch.ones(E, S), atol=1e-5)


@pytest.mark.parametrize("kind", [Aggregator.CENTERED, Aggregator.PCA, Aggregator.PROBE])
def test_per_group_constant_leaves_directions_unchanged(kind):
    x, _ = _data()
    shift = torch.randn(G, 1, S, D) * 10
    a, _ = aggregate(kind, x)
    b, _ = aggregate(kind, x + shift)
    assert torch.allclose(a, b, atol=1e-4)


@pytest.mark.parametrize("kind", list(Aggregator))
def test_planted_direction_is_recovered(kind):
    x, planted = _data(1)
    target = unit(planted - planted.mean(dim=0, keepdim=True))
    vec, _ = aggregate(kind, x)
    cos = (vec * target).sum(-1)
    # a logistic probe weighs directions by the noise covariance, so it is close but not identical
    assert cos.min() > (0.99 if kind is not Aggregator.PROBE else 0.95)


def test_one_vs_rest_is_proportional_to_the_study_contrast_on_complete_groups():
    x, _ = _data(2)
    a, b = centered_contrast(x), one_vs_rest(x)
    assert torch.allclose(b, a * E / (E - 1), atol=1e-5)


def test_streaming_sums_equal_the_full_formula_and_leave_one_out():
    x, _ = _data(3)
    sums = CenteredSums()
    member = [["all", f"t{g % 4}"] for g in range(G)]
    for start in range(0, G, 7):
        sums.add(x[start : start + 7], member[start : start + 7])
    assert torch.allclose(sums.contrast("all"), centered_contrast(x), atol=1e-5)
    keep = torch.tensor([g % 4 != 1 for g in range(G)])
    assert torch.allclose(sums.contrast_excluding("all", "t1"), centered_contrast(x[keep]), atol=1e-5)
