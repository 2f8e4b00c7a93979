"""The allocation always spends its budget exactly, respects minimums and caps, is deterministic."""

from __future__ import annotations

import random

import pytest

from circuits.circuit.allocation import Budget, allocate
from circuits.errors import UserError


@pytest.mark.parametrize("seed", range(300))
def test_budget_met_exactly_with_minimums_and_caps(seed):
    rng = random.Random(seed)
    n = rng.randint(1, 32)
    size = rng.randint(2, 300)
    minimum = rng.randint(0, min(4, size))
    cap = rng.randint(max(minimum, 1), size)
    total = rng.randint(minimum * n, cap * n)
    importance = [rng.choice([0.0, -1.0, rng.random(), rng.random() * 10]) for _ in range(n)]
    alloc = allocate(importance, Budget(total, minimum, cap), size)
    assert sum(alloc) == total
    assert all(minimum <= a <= min(cap, size) for a in alloc)
    assert alloc == allocate(importance, Budget(total, minimum, cap), size)


def test_rest_follows_positive_importance():
    alloc = allocate([0.0, 1.0, 3.0, -2.0], Budget(total=24, minimum=2, cap=100), 100)
    assert alloc == [2, 6, 14, 2]


def test_cap_passes_excess_on():
    alloc = allocate([10.0, 1.0, 1.0], Budget(total=30, minimum=0, cap=12), 100)
    assert alloc == [12, 9, 9]


def test_impossible_budgets_are_user_errors():
    with pytest.raises(UserError):
        allocate([1, 1], Budget(total=3, minimum=2, cap=5), 10)
    with pytest.raises(UserError):
        allocate([1, 1], Budget(total=30, minimum=0, cap=5), 10)
