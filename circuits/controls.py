"""Random controls: node sets matched to a set of nodes layer by layer, and the statistic that
compares an effect with the effects of such random sets.

Every claim of the form "these components matter" is checked against random components with
the same layer profile: the top-k components of a ranking (:mod:`circuits.attribution.validation`),
a circuit's necessity (:mod:`circuits.circuit.quality`) and the random-circuit modulation control
(:mod:`circuits.modulation.methods`) all draw them here, and all compare with
:func:`versus_random`.

Controls are drawn *disjoint* from the nodes they match: a control that may contain the
circuit's own units is partly the circuit (on emo-tiny, where a circuit holds 6 of the 24
heads, overlapping draws shared 1-2 of its heads).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Collection, Mapping, Sequence

import torch

from circuits.nodes import HeadNode, NeuronNode, Node

KINDS: tuple[type[HeadNode] | type[NeuronNode], ...] = (HeadNode, NeuronNode)


def random_like(
    nodes: Collection[Node],
    n_units: Mapping[type, int],
    rng: random.Random,
    disjoint: bool = True,
    top_up: bool = True,
) -> list[Node]:
    """Random nodes with as many heads and neurons in every layer as ``nodes``.

    ``n_units`` gives the units per layer of each kind (``{HeadNode: n_heads, NeuronNode: d_mlp}``).
    With ``disjoint`` the units are drawn from each layer's units outside ``nodes``; where a layer
    has too few of those (``nodes`` fill most of it), ``top_up`` completes the draw with units of
    ``nodes`` themselves, else the layer gets fewer. Layers are visited heads first, then
    neurons, each in layer order, so a seeded ``rng`` gives the same draw every time.
    """
    taken = set(nodes) if disjoint else set()
    drawn_nodes: list[Node] = []
    for kind in KINDS:
        counts = Counter(n.layer for n in nodes if isinstance(n, kind))
        for layer, k in sorted(counts.items()):
            own, free = [], []
            for i in range(n_units[kind]):
                (own if kind(layer, i) in taken else free).append(i)
            drawn = rng.sample(free, min(k, len(free)))
            if top_up:
                drawn += rng.sample(own, k - len(drawn))  # empty unless the layer has too few free units
            drawn_nodes += [kind(layer, i) for i in drawn]
    return drawn_nodes


def versus_random(effect: float, random_effects: Sequence[float]) -> dict:
    """How an effect compares with the effects of random controls: their mean and spread
    (sample standard deviation, 0 for one draw), the margin over their mean, that margin in
    units of their spread (``z``, None without spread), and whether the effect beats every draw."""
    rand = torch.tensor(list(random_effects))
    mean = float(rand.mean())
    spread = float(rand.std()) if len(rand) > 1 else 0.0
    margin = effect - mean
    return {"random_mean": mean, "random_std": spread, "margin": margin,
            "z": margin / spread if spread > 1e-9 else None, "beats_every_random": bool(effect > float(rand.max()))}
