"""circuits: find, measure and control emotion circuits in language models.

The verbs a notebook needs, from one place::

    import circuits as cc

    model = cc.load_model("emo-tiny")
    split = cc.project_split("discovery", per_theme=1)
    prompts = cc.build_prompts(model.render_chat, split, cc.EMOTIONS, cc.Template.SYSTEM)
    directions = cc.extract_directions(model, prompts, cc.EMOTIONS).directions
    ...
    with cc.modulate(model, circuit, vectors, "anger", cc.Strength.study(1.5)):
        replies = cc.generate(model, [p.text for p in neutral], cc.Decoding(max_new_tokens=32))

Names are imported on first use, so ``import circuits`` (and the command line,
``python -m circuits.run``) stays fast; ``circuits.views`` is :mod:`circuits.viz.views`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    # models and the interface every backend implements
    "load_model": "circuits.model.loading",
    "Backend": "circuits.model.backend",
    "ModelInfo": "circuits.model.backend",
    "Record": "circuits.model.backend",
    # vocabulary
    "EMOTIONS": "circuits.emotions",
    "VALENCES": "circuits.emotions",
    "Ablation": "circuits.vocab",
    "Aggregator": "circuits.vocab",
    "Anchor": "circuits.vocab",
    "JudgeKind": "circuits.vocab",
    "Method": "circuits.vocab",
    "Metric": "circuits.vocab",
    "Phase": "circuits.vocab",
    "Positions": "circuits.vocab",
    "Split": "circuits.vocab",
    "Template": "circuits.vocab",
    "EmbedSite": "circuits.sites",
    "HeadsSite": "circuits.sites",
    "NeuronsSite": "circuits.sites",
    "PatternSite": "circuits.sites",
    "ReadOut": "circuits.sites",
    "ResidSite": "circuits.sites",
    "Sublayer": "circuits.sites",
    "SublayerSite": "circuits.sites",
    "HeadNode": "circuits.nodes",
    "NeuronNode": "circuits.nodes",
    # data and prompts
    "load_sev": "circuits.data.sev",
    "project_split": "circuits.data.splits",
    "build_prompts": "circuits.data.prompts",
    "Prompt": "circuits.data.prompts",
    # stage 2: directions
    "extract_directions": "circuits.directions.extract",
    "EmotionDirections": "circuits.directions.emotion_directions",
    "reference_directions": "circuits.directions.reference",
    "read_last_token": "circuits.activations",
    # stage 3: components
    "score_components": "circuits.attribution.components",
    "ComponentScores": "circuits.attribution.components",
    # stage 4: circuits
    "paired_batches": "circuits.circuit.importance",
    "sublayer_importance": "circuits.circuit.importance",
    "study_budget": "circuits.circuit.assembly",
    "assemble_circuit": "circuits.circuit.assembly",
    "Circuit": "circuits.circuit.circuit",
    "necessity": "circuits.circuit.quality",
    "random_circuit": "circuits.circuit.quality",
    # stage 5: interventions, steering, modulation
    "intervene": "circuits.interventions",
    "scale_hooks": "circuits.interventions",
    "steer": "circuits.modulation.steering",
    "intervention_vectors": "circuits.modulation.vectors",
    "modulate": "circuits.modulation.circuit_modulation",
    "Strength": "circuits.modulation.circuit_modulation",
    "faithfulness": "circuits.modulation.faithfulness",
    # generation and judging
    "generate": "circuits.generation",
    "Decoding": "circuits.generation",
    "make_judge": "circuits.evaluation.judges",
    "judged_records": "circuits.evaluation.records",
    "JudgedReply": "circuits.evaluation.records",
    "accuracy": "circuits.evaluation.accuracy",
    # a finished run
    "RunReader": "circuits.artifacts",
}
"""Public name -> the module that defines it."""

_MODULES = {"views": "circuits.viz.views"}

__all__ = sorted([*_EXPORTS, *_MODULES])


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    elif name in _MODULES:
        value = importlib.import_module(_MODULES[name])
    else:
        raise AttributeError(f"module 'circuits' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # what static tools and editors see
    from circuits.activations import read_last_token
    from circuits.artifacts import RunReader
    from circuits.attribution.components import ComponentScores, score_components
    from circuits.circuit.assembly import assemble_circuit, study_budget
    from circuits.circuit.circuit import Circuit
    from circuits.circuit.importance import paired_batches, sublayer_importance
    from circuits.circuit.quality import necessity, random_circuit
    from circuits.data.prompts import Prompt, build_prompts
    from circuits.data.sev import load_sev
    from circuits.data.splits import project_split
    from circuits.directions.emotion_directions import EmotionDirections
    from circuits.directions.extract import extract_directions
    from circuits.directions.reference import reference_directions
    from circuits.emotions import EMOTIONS, VALENCES
    from circuits.evaluation.accuracy import accuracy
    from circuits.evaluation.judges import make_judge
    from circuits.evaluation.records import JudgedReply, judged_records
    from circuits.generation import Decoding, generate
    from circuits.interventions import intervene, scale_hooks
    from circuits.model.backend import Backend, ModelInfo, Record
    from circuits.model.loading import load_model
    from circuits.modulation.circuit_modulation import Strength, modulate
    from circuits.modulation.faithfulness import faithfulness
    from circuits.modulation.steering import steer
    from circuits.modulation.vectors import intervention_vectors
    from circuits.nodes import HeadNode, NeuronNode
    from circuits.sites import (
        EmbedSite,
        HeadsSite,
        NeuronsSite,
        PatternSite,
        ReadOut,
        ResidSite,
        Sublayer,
        SublayerSite,
    )
    from circuits.viz import views
    from circuits.vocab import (
        Ablation,
        Aggregator,
        Anchor,
        JudgeKind,
        Method,
        Metric,
        Phase,
        Positions,
        Split,
        Template,
    )
