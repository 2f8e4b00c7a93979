"""Typed circuit nodes: an attention head or an MLP neuron at a layer. Frozen and hashable, so
sets of nodes (circuits) support union, intersection and Jaccard directly."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import torch

from circuits.interventions import Positions, ScaleUnits
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


def by_site(nodes: Iterable[Node]) -> dict[HeadsSite | NeuronsSite, torch.Tensor]:
    """Unit indices per site, sorted, for vectorised hooks."""
    groups: dict = defaultdict(list)
    for n in nodes:
        groups[n.site].append(n.index)
    return {site: torch.tensor(sorted(idx), dtype=torch.long) for site, idx in sorted(groups.items(), key=lambda kv: (kv[0].layer, type(kv[0]).__name__))}


def scale_hooks(nodes: Iterable[Node], scale: float, positions: Positions = Positions.ALL) -> list:
    """Hooks that multiply the nodes' outputs by ``scale`` (0: zero-ablate; s > 1: enhance)."""
    return [(site, ScaleUnits(idx, positions, scale)) for site, idx in by_site(nodes).items()]
