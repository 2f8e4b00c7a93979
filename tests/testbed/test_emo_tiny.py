"""The shipped testbed expresses and computes emotion (issue: emo-tiny and the offline judge).

These run the shipped checkpoint on the project's whole test split (greedy), so they are the
slowest tests of the suite (~2 min on 2 cores).
"""

from __future__ import annotations

import json

import pytest

from circuits.config import TrainConfig
from circuits.data.sev import load_sev
from circuits.data.splits import STUDY_FILES
from circuits.emotions import EMOTIONS
from circuits.evaluation.offline_judge import load_offline_judge
from circuits.generation import Decoding
from circuits.paths import EMO_TINY_DIR, PROJECT_SEV_DIR, shared_sev_dir
from circuits.testbed import evaluate
from circuits.vocab import Split, Template


@pytest.fixture(scope="module")
def judge():
    return load_offline_judge()


def test_loads_offline_from_the_package_within_the_size_budget():
    """Loads with no network (the suite runs offline); how fast is measured by ``make bench``."""
    from circuits.model.loading import load_model

    model = load_model("emo-tiny")
    assert model.info.n_layers == 4
    size = sum(f.stat().st_size for f in EMO_TINY_DIR.iterdir())
    assert size <= 25 * 2**20


@pytest.mark.slow
def test_expresses_the_instructed_emotion_on_the_test_split(emo_tiny, judge):
    test = load_sev(PROJECT_SEV_DIR / "test.jsonl")
    m, _ = evaluate.expression(emo_tiny, judge, test, Decoding(max_new_tokens=48, batch_size=64), Template.SYSTEM,
                               progress=False)
    assert m["n_emotion_prompts"] == len(test) * 3 * 6
    assert m["emotion_accuracy"] >= 97.0, m
    assert min(m["emotion_accuracy_by_emotion"][e] for e in EMOTIONS) >= 90.0, m
    assert m["neutral_rate"] >= 90.0, m


def test_emotion_is_computed_not_copied(emo_tiny):
    """A probe reads the instructed emotion at a middle layer, not at the token embedding."""
    test = load_sev(PROJECT_SEV_DIR / "test.jsonl").subset(4)
    probe = evaluate.probe_profile(emo_tiny, test, Template.SYSTEM)
    middle = [v for k, v in probe.items() if k.startswith(("L1.", "L2."))]
    assert max(middle) >= 0.95, probe
    assert probe["embed"] <= 1 / 6 + 0.05, probe


@pytest.mark.skipif(not (shared_sev_dir() / STUDY_FILES[Split.TEST]).exists(), reason="the study's SEV files are absent")
def test_generalises_to_the_study_test_file(emo_tiny, judge):
    study = load_sev(shared_sev_dir() / STUDY_FILES[Split.TEST]).subset(3)
    m, _ = evaluate.expression(emo_tiny, judge, study, Decoding(max_new_tokens=48, batch_size=64), Template.SYSTEM,
                               progress=False)
    assert m["emotion_accuracy"] >= 80.0, m


def test_retraining_reproduces_the_shipped_loss_curve(tmp_path):
    from circuits.testbed.train import train

    shipped = json.loads((EMO_TINY_DIR / "train_log.json").read_text())
    tcfg = TrainConfig(**shipped["train_config"])
    result = train(tcfg, tmp_path, steps=6, progress=False)
    assert (tmp_path / "tokenizer.json").read_bytes() == (EMO_TINY_DIR / "tokenizer.json").read_bytes()
    for step, (a, b) in enumerate(zip(result.losses, shipped["losses"][:6])):
        assert abs(a - b) <= 1e-6, (step, a, b)


def test_judge_accuracy_on_held_out_synthetic_replies(judge):
    from circuits.testbed.judge_data import judge_datasets

    texts, labels = judge_datasets(0)["test"]
    pred = judge.classify(texts)
    assert sum(p == y for p, y in zip(pred, labels)) / len(labels) >= 0.95
