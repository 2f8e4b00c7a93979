"""Judges and judged replies: every judge kind is registered, each judge's rule holds on texts
whose answer is known, the shipped judge survives a save/load, and records keep their format."""

from __future__ import annotations

import json

import pytest

from circuits.emotions import EMOTIONS, JUDGE_LABELS, NEUTRAL
from circuits.evaluation.accuracy import accuracy, accuracy_by, judge_agreement, label_counts
from circuits.evaluation.judges import JUDGES, KeywordJudge, NRCJudge, make_judge
from circuits.evaluation.offline_judge import OfflineJudge, load_offline_judge
from circuits.evaluation.records import EXTRAS, NO_STRENGTH, JudgedReply
from circuits.vocab import JudgeKind, Method


def test_every_judge_kind_has_a_factory_and_labels_from_the_judge_labels():
    """(The field's judges, which need weights, are tested with tiny models in test_field_judges.)"""
    assert set(JUDGES) == set(JudgeKind)
    for kind in (JudgeKind.HYBRID, JudgeKind.OFFLINE, JudgeKind.KEYWORD, JudgeKind.NRC):
        judge = make_judge(kind)
        assert judge.name == kind.value and make_judge(kind.value).name == judge.name
        labels = judge.classify(["I am so happy and delighted today!", "The meeting is at ten."])
        assert len(labels) == 2 and set(labels) <= set(JUDGE_LABELS)


def test_keyword_judge_counts_cues_and_breaks_ties_in_the_study_order():
    judge = KeywordJudge()
    assert judge.classify(["I am furious, this is outrageous and I am livid."]) == ["anger"]
    assert judge.classify(["The parcel arrived on Tuesday."]) == [NEUTRAL]
    # one cue each for sadness and fear: the study's order (anger, sadness, ...) decides
    assert judge.classify(["I feel sad and scared."]) == ["sadness"]


def test_nrc_judge_reads_the_lexicon_and_maps_joy_to_happiness():
    judge = NRCJudge()
    assert judge.scores("joy").get("happiness", 0) >= 1
    assert judge.classify(["joy"]) == ["happiness"]
    assert judge.classify([""]) == [NEUTRAL]


def test_shipped_judge_labels_its_own_kind_of_reply_and_survives_a_round_trip(tmp_path):
    from circuits.testbed.replies import EMOTION_REPLIES, NEUTRAL_REPLIES, render_reply

    judge = load_offline_judge()
    texts, truth = [], []
    for (emotion, _), templates in EMOTION_REPLIES.items():
        texts += [render_reply(t, "my manager", "the report") for t in templates[:3]]
        truth += [emotion] * 3
    for templates in NEUTRAL_REPLIES.values():
        texts += [render_reply(t, "my manager", "the report") for t in templates[:3]]
        truth += [NEUTRAL] * 3
    labels = judge.classify(texts)
    assert sum(a == b for a, b in zip(labels, truth)) / len(truth) >= 0.95
    path = tmp_path / "judge.json"
    path.write_text(json.dumps(judge.to_json()))
    again = load_offline_judge(path)
    assert again.classify(texts) == labels
    assert isinstance(again, OfflineJudge) and again.labels == judge.labels


def test_offline_judge_fitted_on_separable_texts_recovers_them():
    texts = [f"{w} {w} day" for w in EMOTIONS for _ in range(3)] + ["plain day"] * 3
    labels = [e for e in EMOTIONS for _ in range(3)] + [NEUTRAL] * 3
    judge = OfflineJudge.train(texts, labels)
    assert judge.classify(texts) == labels


def test_agreement_of_a_judge_with_itself_is_perfect_and_chance_is_zero_kappa():
    a = ["anger", "sadness", NEUTRAL, "fear"]
    assert judge_agreement(a, a)["agreement"] == 100.0 and judge_agreement(a, a)["kappa"] == 1.0
    flipped = judge_agreement(["anger", "sadness"] * 2, ["anger", "anger", "sadness", "sadness"])
    assert flipped["agreement"] == 50.0 and flipped["kappa"] == pytest.approx(0.0)


def _reply(label="anger", target="anger", **extra) -> JudgedReply:
    return JudgedReply("work_00", "Work/Job", "negative", target, label, "Outrageous!", 3, True, **extra)


def test_a_judged_reply_writes_its_keys_in_a_fixed_order_and_reads_back_equal():
    r = _reply(method=Method.CIRCUIT, strength="1.5/2 (reply dmu)", perplexity=2.5, distinct_2=1.0,
               longest_repeat=0, draw=1)
    obj = r.to_json()
    assert list(obj) == ["skeleton_id", "theme", "valence", "target", "label", "correct", "reply", "n_tokens",
                         "finished", "method", "strength", "perplexity", "distinct_2", "longest_repeat", "draw"]
    assert obj["method"] == "circuit" and obj["correct"] is True
    assert JudgedReply.from_json(json.loads(json.dumps(obj))) == r
    assert list(_reply().to_json())[-1] == "finished"  # unset extras are left out
    assert set(EXTRAS) <= {f for f in JudgedReply.__dataclass_fields__}


def test_strength_is_shown_only_when_it_says_something():
    assert _reply(method=Method.CIRCUIT, strength="2.0").has_strength
    assert not _reply(method=Method.PROMPTING, strength=NO_STRENGTH).has_strength
    assert not _reply().has_strength


def test_accuracy_tables_count_the_replies_judged_as_their_target():
    recs = [_reply(), _reply(label="fear"), _reply(target="fear", label="fear"), _reply(target="fear", label=NEUTRAL)]
    assert accuracy(recs) == 50.0
    table = accuracy_by(recs, "target", "valence")
    assert table["anger"] == {"negative": 50.0, "overall": 50.0} and table["overall"] == 50.0
    assert label_counts(recs) == {"anger": 1, "fear": 2, NEUTRAL: 1}
