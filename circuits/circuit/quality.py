"""Circuit quality: is the circuit necessary, and what do random circuits do?

Effects are changes of the final residual's projection on the emotion's reference direction at
the last prompt token (:func:`circuits.attribution.validation.final_projection`).

- **necessity**: with the emotion prompt, zero-ablating the circuit against zero-ablating
  random circuits with the same layer profile and no node in common with it (several draws,
  :func:`random_circuit`); the margin is the extra drop and ``z`` that margin in units of the
  random draws' spread (:func:`circuits.controls.versus_random`).
- **faithfulness** (how much of the whole layers' modulation effect the circuit carries) is a
  modulation measurement: :mod:`circuits.modulation.faithfulness`.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import torch

from circuits.attribution.validation import final_projection
from circuits.circuit.circuit import Circuit
from circuits.controls import random_like, versus_random
from circuits.interventions import scale_hooks
from circuits.model.backend import Backend, ModelInfo, TokenBatch
from circuits.nodes import HeadNode, NeuronNode
from circuits.vocab import Positions


def random_circuit(circuit: Circuit, info: ModelInfo, rng: random.Random, disjoint: bool = True) -> Circuit:
    """A random circuit with the same number of heads and neurons in every layer as ``circuit``.

    With ``disjoint`` (the default) it shares as few nodes with ``circuit`` as the layer
    profile allows: units are drawn from each layer's complement, and only a layer where the
    circuit holds more than half the units (a whole-layer circuit of the size curve) tops the
    draw up with the circuit's own units (:func:`circuits.controls.random_like`).
    """
    nodes = random_like(circuit.nodes, {HeadNode: info.n_heads, NeuronNode: info.d_mlp}, rng, disjoint=disjoint)
    return Circuit.build(circuit.emotion, dict.fromkeys(nodes, 0.0), {"random_like": circuit.emotion, "disjoint": disjoint})


def necessity(
    model: Backend,
    emotional: Sequence[TokenBatch],
    circuit: Circuit,
    v_ref: torch.Tensor,
    draws: int = 10,
    seed: int = 0,
) -> dict:
    """The drop of the projection when the circuit is zero-ablated, against random circuits."""
    rng = random.Random(seed)
    clean = final_projection(model, emotional, v_ref)

    def drop(nodes) -> float:
        return float((clean - final_projection(model, emotional, v_ref, scale_hooks(nodes, 0.0, Positions.ALL))).mean())

    effect = drop(circuit.nodes)
    vs = versus_random(effect, [drop(random_circuit(circuit, model.info, rng).nodes) for _ in range(draws)])
    return {"drop": effect, "clean_projection": float(clean.mean()), "random_drop_mean": vs["random_mean"],
            "random_drop_std": vs["random_std"], "margin": vs["margin"], "z": vs["z"],
            "beats_every_random": vs["beats_every_random"]}
