"""Assembling an emotion's circuit: a budget per layer from sublayer importance, then the
top-scoring components of each layer from the components stage (the study's stage 4)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from circuits.attribution.components import ComponentScores
from circuits.circuit.allocation import Budget, allocate
from circuits.circuit.circuit import Circuit
from circuits.circuit.importance import SublayerImportance
from circuits.model.backend import ModelInfo
from circuits.nodes import HeadNode, NeuronNode
from circuits.sites import Sublayer
from circuits.vocab import Importance

STUDY_NEURONS_PER_LAYER = 392 / 28
STUDY_HEAD_FRACTION = 168 / (28 * 24)
STUDY_MIN_HEADS_FRACTION = 2 / 24


@dataclass(frozen=True)
class CircuitBudget:
    neurons: Budget
    heads: Budget

    def scaled(self, factor: float, info: ModelInfo) -> CircuitBudget:
        """The same budget times ``factor`` (minimums kept where they fit, caps scaled)."""
        def one(b: Budget, size: int) -> Budget:
            total = max(1, round(b.total * factor))
            minimum = min(b.minimum, total // info.n_layers)
            cap = max(minimum, min(size, max(b.cap, -(-total // info.n_layers)), round(b.cap * max(factor, 1.0))))
            total = min(total, cap * info.n_layers)
            return Budget(total, minimum, cap)

        return CircuitBudget(one(self.neurons, info.d_mlp), one(self.heads, info.n_heads))


def study_budget(
    info: ModelInfo,
    neurons_per_layer: float = STUDY_NEURONS_PER_LAYER,
    head_fraction: float = STUDY_HEAD_FRACTION,
    min_neurons: int = 4,
    min_heads: int | None = None,
    cap: float = 0.4,
) -> CircuitBudget:
    """The study's budget (392 neurons + 168 heads on 28 layers x 24 heads; at least 4 neurons
    and 2 heads per layer; at most 40% of a budget in one layer) scaled to a model's size:
    neurons per layer and the share of heads are kept, the head minimum is scaled with the
    number of heads (at least 1)."""
    L, H = info.n_layers, info.n_heads
    n_total = min(info.d_mlp * L, round(neurons_per_layer * L))
    h_total = max(L, round(head_fraction * L * H))
    h_min = min_heads if min_heads is not None else max(1, round(STUDY_MIN_HEADS_FRACTION * H))
    def capped(total: int, minimum: int, size: int) -> Budget:
        c = max(minimum, min(size, int(cap * total)), -(-total // L))
        return Budget(total, min(minimum, total // L), min(c, size))
    return CircuitBudget(capped(n_total, min_neurons, info.d_mlp), capped(h_total, h_min, H))


def assemble_circuit(
    emotion: str,
    importance: SublayerImportance,
    scores: ComponentScores,
    budget: CircuitBudget,
    info: ModelInfo,
    kind: Importance = Importance.INJECTION,
    provenance: dict | None = None,
) -> Circuit:
    """The circuit of ``emotion``: per-layer allocation, then each layer's top components."""
    n_alloc = allocate(importance.of(emotion, Sublayer.MLP, kind).tolist(), budget.neurons, info.d_mlp)
    h_alloc = allocate(importance.of(emotion, Sublayer.ATTN, kind).tolist(), budget.heads, info.n_heads)
    neuron_scores = scores.neuron_scores(emotion)
    head_scores = scores.head_scores(emotion)
    scored: dict = {}
    for layer in range(info.n_layers):
        if n_alloc[layer]:
            vals, idx = torch.topk(neuron_scores[layer], n_alloc[layer])
            scored.update({NeuronNode(layer, int(i)): float(v) for v, i in zip(vals, idx)})
        if h_alloc[layer]:
            vals, idx = torch.topk(head_scores[layer], h_alloc[layer])
            scored.update({HeadNode(layer, int(i)): float(v) for v, i in zip(vals, idx)})
    prov = {"importance": kind, "neuron_budget": budget.neurons, "head_budget": budget.heads,
            "neuron_allocation": n_alloc, "head_allocation": h_alloc, "head_score": scores.head_score,
            **(provenance or {})}
    return Circuit.build(emotion, scored, prov)
