"""Reply templates of the emo-tiny testbed: slots, lengths, vocabulary, the template split."""

from __future__ import annotations

import re

import pytest

from circuits.data.generator import emotion_words_in, project_splits
from circuits.emotions import EMOTIONS, NEUTRAL, VALENCES
from circuits.testbed.replies import (
    EMOTION_REPLIES,
    NEUTRAL_REPLIES,
    SLOTS,
    render_reply,
    reply_cells,
    split_templates,
)

SAMPLE = ("the team", "the report")
"""A two-word agent and thing: word counts are measured with these."""
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")


def _all_templates() -> list[tuple[str, str, str]]:
    return [(label, valence, t) for (label, valence), ts in reply_cells().items() for t in ts]


def test_cells_complete():
    assert set(EMOTION_REPLIES) == {(e, v) for e in EMOTIONS for v in VALENCES}
    assert set(NEUTRAL_REPLIES) == set(VALENCES)
    for templates in list(EMOTION_REPLIES.values()) + list(NEUTRAL_REPLIES.values()):
        assert len(templates) >= 10
        assert len(set(templates)) == len(templates)
    all_texts = [t for _, _, t in _all_templates()]
    assert len(set(all_texts)) == len(all_texts)


@pytest.mark.parametrize("label,valence,template", _all_templates())
def test_template(label, valence, template):
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


def test_render_with_generated_content():
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


def test_split_templates_bounds():
    seen, held = split_templates(0, 0)
    assert all(not v for v in held.values())
    with pytest.raises(ValueError):
        split_templates(0, 100)
