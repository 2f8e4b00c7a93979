"""The hand-labelled replies stay well formed, and the agreement measure is right on cases worked
by hand."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import pytest

from circuits.errors import UserError
from circuits.evaluation.agreement import LABELS, agreement, kappa, load_labels, measure
from circuits.paths import REPO_DIR

GROUPS = {"none", "prompting_system", "prompting_user", "steering", "circuit", "circuit_study", "random"}


def test_the_hand_labels_are_well_formed_and_balanced():
    labelled = load_labels()
    assert len(labelled) >= 400
    by_model = Counter(r.model for r in labelled)
    assert set(by_model) == {"emo-tiny", "smollm2", "qwen2.5-coder"}
    assert min(by_model.values()) >= 100  # every model well represented
    for model in by_model:
        groups = {r.group for r in labelled if r.model == model}
        assert GROUPS <= groups, GROUPS - groups  # every method, both prompting templates
        assert any("x2" in g or g == "garbled" for g in groups)  # and garbled replies
        splits = Counter(r.split for r in labelled if r.model == model)
        assert min(splits.values()) >= 0.35 * by_model[model]  # a held-out part for each model
        targets = {r.target for r in labelled if r.model == model and r.group == "circuit"}
        assert len(targets) == 6
    assert {r.label for r in labelled} == set(LABELS)


def test_a_damaged_label_file_is_refused_with_the_line(tmp_path):
    good = (REPO_DIR / "circuits" / "data" / "labels" / "replies.jsonl").read_text().splitlines()
    row = json.loads(good[0])
    for bad, message in [({**row, "label": "joy"}, "unknown label"), ({**row, "text": " "}, "empty text")]:
        path = tmp_path / "labels.jsonl"
        path.write_text(json.dumps(row) + "\n" + json.dumps({**bad, "id": "other"}) + "\n")
        with pytest.raises(UserError, match=message) as err:
            load_labels(path)
        assert ":2:" in str(err.value)


def test_kappa_and_agreement_on_cases_worked_by_hand():
    assert kappa(["a", "b", "a", "b"], ["a", "b", "a", "b"]) == 1.0
    # observed 0.5; expected 0.5 (each labeling half a, half b): kappa 0
    assert kappa(["a", "a", "b", "b"], ["a", "b", "a", "b"]) == 0.0
    hand = ["neutral", "neutral", "neutral", "anger", "fear"]
    judged = ["anger", "neutral", "disgust", "anger", "neutral"]
    a = agreement(hand, judged)
    assert a["accuracy"] == 40.0
    assert a["neutral_called_emotional"] == pytest.approx(66.7)
    assert a["per_label"]["anger"] == {"n": 1, "recall": 100.0, "precision": 50.0}
    assert a["per_label"]["fear"] == {"n": 1, "recall": 0.0, "precision": None}


class _Fixed:
    def __init__(self, label):
        self.label = label

    def classify(self, texts):
        return [self.label] * len(texts)


def test_every_judge_is_measured_per_model():
    labelled = load_labels()
    out = measure({"always_neutral": _Fixed("neutral")}, labelled)["always_neutral"]
    for model in ("emo-tiny", "smollm2", "qwen2.5-coder"):
        share = sum(r.label == "neutral" for r in labelled if r.model == model) / sum(r.model == model for r in labelled)
        assert out[model]["accuracy"] == pytest.approx(100 * share, abs=0.05)
        assert out[model]["neutral_called_emotional"] == 0.0


def test_the_agreement_command(tmp_path):
    res = subprocess.run([sys.executable, "-m", "circuits.evaluation.agreement", "--judges", "offline,keyword",
                          "--split", "heldout", "--out", str(tmp_path)], capture_output=True, text=True, cwd=REPO_DIR,
                         timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "| offline | smollm2 |" in res.stdout and (tmp_path / "agreement.json").is_file()
    res = subprocess.run([sys.executable, "-m", "circuits.evaluation.agreement", "--judges", "oracle"],
                         capture_output=True, text=True, cwd=REPO_DIR, timeout=300)
    assert res.returncode == 2 and res.stderr.startswith("error: unknown judge 'oracle'")


def test_the_default_judge_agrees_with_the_reader():
    """The bars of the judges issue: >= 80% on the real model's held-out replies (the rules were
    tuned on the dev half only), >= 95% on emo-tiny's; and it rarely calls reader-neutral text
    emotional (the offline classifier alone does so for 87% of SmolLM2's)."""
    from circuits.config import JudgeConfig
    from circuits.evaluation.judges import make_judge

    labelled = load_labels()
    judge = make_judge(JudgeConfig().kind)
    heldout = measure({"default": judge}, [r for r in labelled if r.split == "heldout"])["default"]
    every = measure({"default": judge}, labelled)["default"]
    assert heldout["smollm2"]["accuracy"] >= 80.0
    # Qwen2.5-Coder's replies were labelled after the rules were written and never tuned on.
    assert heldout["qwen2.5-coder"]["accuracy"] >= 80.0 and every["qwen2.5-coder"]["neutral_called_emotional"] <= 10.0
    assert every["emo-tiny"]["accuracy"] >= 95.0 and heldout["emo-tiny"]["accuracy"] >= 95.0
    assert every["smollm2"]["neutral_called_emotional"] <= 10.0
