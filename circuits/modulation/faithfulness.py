"""Faithfulness of a circuit's modulation: how much of the whole layers' effect does it carry?

With the neutral prompt, the circuit is modulated (``+ s * dmu`` on its neurons and heads,
:func:`circuits.modulation.circuit_modulation.modulation_hooks`) and, separately, *every* neuron
and head of the layers the circuit spans; each effect is the change of the final residual's
projection on the emotion's reference direction at the last prompt token. The ratio says how
much of the whole layers' effect the circuit carries.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from circuits.attribution.validation import final_projection
from circuits.circuit.circuit import Circuit
from circuits.model.backend import Backend, ModelInfo, TokenBatch
from circuits.modulation.circuit_modulation import modulation_hooks
from circuits.modulation.vectors import InterventionVectors
from circuits.nodes import HeadNode, NeuronNode


def whole_layers(circuit: Circuit, info: ModelInfo) -> Circuit:
    """Every neuron and head of the layers ``circuit`` touches."""
    layers = sorted({n.layer for n in circuit.nodes})
    nodes = {HeadNode(layer, h): 0.0 for layer in layers for h in range(info.n_heads)}
    nodes.update({NeuronNode(layer, j): 0.0 for layer in layers for j in range(info.d_mlp)})
    return Circuit.build(circuit.emotion, nodes, {"whole_layers_of": "circuit"})


def faithfulness(
    model: Backend,
    neutral: Sequence[TokenBatch],
    circuit: Circuit,
    vectors: InterventionVectors,
    v_ref: torch.Tensor,
    scale: float = 1.0,
) -> dict:
    """The circuit's modulation effect, the whole layers' effect, and their ratio."""
    clean = final_projection(model, neutral, v_ref)
    part = final_projection(model, neutral, v_ref, modulation_hooks(circuit, vectors, circuit.emotion, scale))
    full = final_projection(model, neutral, v_ref,
                            modulation_hooks(whole_layers(circuit, model.info), vectors, circuit.emotion, scale))
    e_part, e_full = float((part - clean).mean()), float((full - clean).mean())
    return {"circuit_effect": e_part, "whole_layers_effect": e_full,
            "ratio": e_part / e_full if abs(e_full) > 1e-9 else None}
