"""Budgeted allocation of circuit components to layers (the study's stage 4).

Every layer first gets its minimum; the rest of the budget is shared in proportion to the
positive part of each layer's importance, no layer exceeding its cap. Integer shares use the
largest-remainder method, and a layer that reaches its cap passes its excess on to the others
(water filling). When no layer with positive importance can take more, the remainder goes to
the layers with room, most important first. Ties break by layer index, so the allocation is
deterministic, and it always spends the budget exactly (or raises when that is impossible).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from circuits.errors import UserError


@dataclass(frozen=True)
class Budget:
    """How many components of one kind a circuit gets, and per-layer bounds."""

    total: int
    minimum: int
    cap: int
    """Most components any one layer may get."""


def allocate(importance: Sequence[float], budget: Budget, layer_size: int) -> list[int]:
    """Components per layer; sums to ``budget.total`` exactly."""
    n = len(importance)
    cap = min(budget.cap, layer_size)
    if budget.minimum > cap:
        raise UserError(f"per-layer minimum {budget.minimum} exceeds the per-layer cap {cap}")
    if budget.total < budget.minimum * n:
        raise UserError(f"budget {budget.total} is below the minimum {budget.minimum} x {n} layers")
    if budget.total > cap * n:
        raise UserError(f"budget {budget.total} exceeds what {n} layers capped at {cap} can hold")
    alloc = [budget.minimum] * n
    remaining = budget.total - budget.minimum * n
    weights = [max(0.0, float(w)) for w in importance]
    while remaining > 0:
        open_layers = [i for i in range(n) if alloc[i] < cap and weights[i] > 0]
        if not open_layers:
            break
        total_w = sum(weights[i] for i in open_layers)
        shares = {i: remaining * weights[i] / total_w for i in open_layers}
        give = {i: min(int(shares[i]), cap - alloc[i]) for i in open_layers}
        left = remaining - sum(give.values())
        # largest remainder, among layers that still have room after their integer share
        order = sorted(open_layers, key=lambda i: (-(shares[i] - int(shares[i])), -weights[i], i))
        for i in order:
            if left == 0:
                break
            if alloc[i] + give[i] < cap:
                give[i] += 1
                left -= 1
        for i, g in give.items():
            alloc[i] += g
        spent = sum(give.values())
        if spent == 0:
            break
        remaining -= spent
    if remaining > 0:
        for i in sorted(range(n), key=lambda i: (-weights[i], i)):
            take = min(cap - alloc[i], remaining)
            alloc[i] += take
            remaining -= take
    assert sum(alloc) == budget.total
    return alloc
