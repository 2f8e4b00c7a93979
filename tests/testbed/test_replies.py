"""Reply templates of the emo-tiny testbed: slots, lengths, vocabulary, the template split, and
``replies.json`` loaded strictly into read-only mappings."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from circuits.data.generator import emotion_words_in, project_splits
from circuits.data.templates import TemplateFileError
from circuits.emotions import EMOTIONS, NEUTRAL, VALENCES
from circuits.testbed.replies import (
    EMOTION_REPLIES,
    NEUTRAL_REPLIES,
    REPLIES_FILE,
    SLOTS,
    ReplyTemplates,
    load_replies,
    read_replies,
    render_reply,
    reply_cells,
    split_templates,
)

SAMPLE = ("the team", "the report")
"""A two-word agent and thing: word counts are measured with these."""
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")


def _all_templates() -> list[tuple[str, str, str]]:
    return [(label, valence, t) for (label, valence), ts in reply_cells().items() for t in ts]


def test_every_cell_has_at_least_10_templates_and_no_template_repeats():
    assert set(EMOTION_REPLIES) == {(e, v) for e in EMOTIONS for v in VALENCES}
    assert set(NEUTRAL_REPLIES) == set(VALENCES)
    for templates in list(EMOTION_REPLIES.values()) + list(NEUTRAL_REPLIES.values()):
        assert len(templates) >= 10
        assert len(set(templates)) == len(templates)
    all_texts = [t for _, _, t in _all_templates()]
    assert len(set(all_texts)) == len(all_texts)


@pytest.mark.parametrize("label,valence,template", _all_templates())
def test_template_renders_to_1_or_2_sentences_of_12_to_30_words_without_the_emotion_noun(label, valence, template):
    assert any(slot in template for slot in SLOTS)
    assert not set(re.findall(r"\{[^}]*\}", template)) - set(SLOTS)
    text = render_reply(template, *SAMPLE)
    assert "{" not in text and "}" not in text
    assert 12 <= len(text.split()) <= 30, text
    assert 1 <= len(_SENTENCE_END.findall(text)) <= 2, text
    assert text[0].isupper() and text[-1] in ".!?"
    words = set(re.findall(r"[a-z]+", template.lower()))
    assert not words & set(EMOTIONS), template  # no bare instruction noun
    if label == NEUTRAL:
        assert not emotion_words_in(template), template


def test_render_reply_capitalises_slots_at_sentence_start():
    assert render_reply("{agent} liked {thing}.", "my manager", "the report") == "My manager liked the report."
    assert render_reply("Fine. {thing} is done!", "x", "the plan") == "Fine. The plan is done!"
    assert render_reply("Okay, {agent} saw it.", "the team", "y") == "Okay, the team saw it."
    with pytest.raises(ValueError):
        render_reply("{who} saw it.", "the team", "y")


def test_templates_render_with_generated_agents_and_things():
    skeletons = project_splits(0)["test"][::20]
    for g in skeletons:
        for _, _, template in _all_templates():
            text = render_reply(template, g.agent, g.thing)
            assert "{" not in text
            assert g.agent in text.lower() or g.thing.lower() in text.lower()


def test_split_templates_deterministic_and_disjoint():
    seen, held = split_templates(0, 2)
    assert (seen, held) == split_templates(0, 2)
    assert split_templates(1, 2) != (seen, held)
    cells = reply_cells()
    assert set(seen) == set(held) == set(cells)
    assert {label for label, _ in cells} == set(EMOTIONS) | {NEUTRAL}
    for key, templates in cells.items():
        assert len(held[key]) == 2
        assert not set(seen[key]) & set(held[key])
        assert set(seen[key]) | set(held[key]) == set(templates)


def test_split_templates_rejects_holdouts_outside_the_cell_sizes():
    seen, held = split_templates(0, 0)
    assert all(not v for v in held.values())
    with pytest.raises(ValueError):
        split_templates(0, 100)


# ---------------------------------------------------------------- replies.json and its loader

REPLIES_PATH = Path(__file__).resolve().parents[2] / "circuits" / "testbed" / REPLIES_FILE


def test_replies_json_is_keyed_by_emotion_then_valence_and_by_valence():
    raw = json.loads(REPLIES_PATH.read_text(encoding="utf-8"))
    assert list(raw) == ["emotion_replies", "neutral_replies"]
    assert list(raw["emotion_replies"]) == list(EMOTIONS)
    for by_valence in raw["emotion_replies"].values():
        assert list(by_valence) == list(VALENCES)
        assert all(isinstance(t, str) for ts in by_valence.values() for t in ts)
    assert list(raw["neutral_replies"]) == list(VALENCES)
    assert all(isinstance(t, str) for ts in raw["neutral_replies"].values() for t in ts)


def test_replies_json_is_pretty_printed_utf8_ending_with_a_newline():
    text = REPLIES_PATH.read_bytes().decode("utf-8")
    assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"


def test_loaded_replies_are_read_only_tuples_in_study_order():
    data = load_replies()
    assert isinstance(data, ReplyTemplates)
    assert EMOTION_REPLIES is data.emotion and NEUTRAL_REPLIES is data.neutral
    assert list(EMOTION_REPLIES) == [(e, v) for e in EMOTIONS for v in VALENCES]
    assert list(NEUTRAL_REPLIES) == list(VALENCES)
    assert all(isinstance(ts, tuple) for ts in list(EMOTION_REPLIES.values()) + list(NEUTRAL_REPLIES.values()))
    with pytest.raises(TypeError):
        EMOTION_REPLIES[("anger", "positive")] = ()  # type: ignore[index]
    with pytest.raises(TypeError):
        NEUTRAL_REPLIES["positive"] = ()  # type: ignore[index]


def test_load_replies_reads_the_file_once():
    assert load_replies() is load_replies()
    again = read_replies()  # an uncached re-read gives equal content
    assert dict(again.emotion) == dict(load_replies().emotion) and dict(again.neutral) == dict(load_replies().neutral)


@pytest.mark.parametrize(
    "change,field,problem",
    [
        (lambda r: r["emotion_replies"].update(boredom={}), "emotion_replies.boredom", "unknown key"),
        (lambda r: r["emotion_replies"].pop("fear"), "emotion_replies.fear", "missing"),
        (lambda r: r["emotion_replies"]["disgust"].pop("neutral"), "emotion_replies.disgust.neutral", "missing"),
        (lambda r: r["neutral_replies"].update(mixed=[]), "neutral_replies.mixed", "unknown key"),
        (lambda r: r.pop("neutral_replies"), "neutral_replies", "missing"),
        (lambda r: r["emotion_replies"]["anger"].update(positive="About time."), "emotion_replies.anger.positive",
         "expected a list"),
        (lambda r: r["neutral_replies"]["negative"].append(3), "neutral_replies.negative[12]", "expected a string"),
        (lambda r: r.update(version=2), "version", "unknown key"),
    ],
)
def test_read_replies_rejects_bad_files_naming_file_and_field(modified_copy, change, field, problem):
    path = modified_copy(REPLIES_PATH, change)
    with pytest.raises(TemplateFileError) as info:
        read_replies(path)
    assert str(info.value).startswith(f"{path}: {field}: {problem}"), str(info.value)
