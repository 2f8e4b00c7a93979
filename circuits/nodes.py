"""Typed nodes: an attention head or an MLP neuron at a layer, the vocabulary that attribution
ranks, circuits hold and interventions edit. Frozen and hashable, so sets of nodes (circuits)
support union, intersection and Jaccard directly; ``str(node)`` is ``L3H5`` or ``L2N117``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch

from circuits.sites import HeadsSite, NeuronsSite


@dataclass(frozen=True, order=True)
class HeadNode:
    """Head ``head`` of layer ``layer``: its slice of ``attn.hook_z``."""

    layer: int
    head: int

    @property
    def site(self) -> HeadsSite:
        return HeadsSite(self.layer)

    @property
    def index(self) -> int:
        return self.head

    def __str__(self) -> str:
        return f"L{self.layer}H{self.head}"


@dataclass(frozen=True, order=True)
class NeuronNode:
    """Neuron ``neuron`` of layer ``layer``'s MLP: its unit of ``mlp.hook_post``."""

    layer: int
    neuron: int

    @property
    def site(self) -> NeuronsSite:
        return NeuronsSite(self.layer)

    @property
    def index(self) -> int:
        return self.neuron

    def __str__(self) -> str:
        return f"L{self.layer}N{self.neuron}"


Node = HeadNode | NeuronNode


def parse_node(text: str) -> Node:
    """Inverse of ``str(node)``: ``L3H5`` or ``L2N117``."""
    layer, rest = text[1:].split("H") if "H" in text else text[1:].split("N")
    return HeadNode(int(layer), int(rest)) if "H" in text else NeuronNode(int(layer), int(rest))


def ranked(scores: torch.Tensor, kind: type[HeadNode] | type[NeuronNode]) -> list[Node]:
    """Every node of a [layer unit] score table, highest score first."""
    width = scores.shape[1]
    return [kind(int(i) // width, int(i) % width) for i in scores.flatten().argsort(descending=True)]


def top_nodes(scores: torch.Tensor, kind: type[HeadNode] | type[NeuronNode], k: int,
              layers: Sequence[int] | None = None) -> list[tuple[Node, float]]:
    """The ``k`` highest-scoring nodes of a [layer unit] score table with their scores, optionally
    only within ``layers`` (fewer when those layers hold fewer than ``k`` units)."""
    s = scores.clone()
    if layers is not None:
        keep = torch.zeros(s.shape[0], dtype=torch.bool)
        keep[list(layers)] = True
        s[~keep] = -torch.inf
    vals, idx = s.flatten().topk(min(k, int(torch.isfinite(s).sum())))
    width = s.shape[1]
    return [(kind(int(i) // width, int(i) % width), float(v)) for v, i in zip(vals, idx)]


def by_site(nodes: Iterable[Node]) -> dict[HeadsSite | NeuronsSite, torch.Tensor]:
    """Unit indices per site, sorted, for vectorised hooks."""
    groups: dict = defaultdict(list)
    for n in nodes:
        groups[n.site].append(n.index)
    return {site: torch.tensor(sorted(idx), dtype=torch.long) for site, idx in sorted(groups.items(), key=lambda kv: (kv[0].layer, type(kv[0]).__name__))}

