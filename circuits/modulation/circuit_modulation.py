"""Circuit modulation (method.md, stage 5): add ``s * dmu`` to a circuit's neurons and heads.

The study's position policy is the default: neurons at the last position of every forward call
(the last prompt token, then every fed-back generated token under the KV cache), heads at all
positions. Both are :class:`~circuits.interventions.Positions` values and can be changed.
Modulation is additive and happens inside :func:`modulate`, which restores the model on exit.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from circuits.circuit.circuit import Circuit
from circuits.circuit.nodes import by_site
from circuits.interventions import AddToUnits, Positions, intervene
from circuits.model.backend import HookedModel
from circuits.modulation.vectors import InterventionVectors
from circuits.sites import HeadsSite


def modulation_hooks(
    circuit: Circuit,
    vectors: InterventionVectors,
    emotion: str,
    scale: float,
    neuron_positions: Positions = Positions.LAST,
    head_positions: Positions = Positions.ALL,
) -> list:
    neurons, heads = vectors.of(emotion)
    hooks = []
    for site, idx in by_site(circuit.nodes).items():
        if isinstance(site, HeadsSite):
            hooks.append((site, AddToUnits(idx, heads[site.layer, idx], head_positions, scale)))
        else:
            hooks.append((site, AddToUnits(idx, neurons[site.layer, idx], neuron_positions, scale)))
    return hooks


@contextlib.contextmanager
def modulate(
    model: HookedModel,
    circuit: Circuit,
    vectors: InterventionVectors,
    emotion: str,
    scale: float = 1.0,
    neuron_positions: Positions = Positions.LAST,
    head_positions: Positions = Positions.ALL,
) -> Iterator[HookedModel]:
    """Inside the block, ``circuit``'s components are pushed toward ``emotion``."""
    with intervene(model, modulation_hooks(circuit, vectors, emotion, scale, neuron_positions, head_positions)):
        yield model
