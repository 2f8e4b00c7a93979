"""Reply templates for training ``emo-tiny`` and its offline judge.

The templates live in ``replies.json`` (next to this module): ``emotion_replies`` keyed by
emotion, then valence, and ``neutral_replies`` keyed by valence, each a list of templates. This
module loads the file once (:func:`load_replies`), checks its shape (exactly the six emotions and
the three valences, lists of strings; :class:`circuits.data.templates.TemplateFileError` names the
file and the field otherwise) and hands the cells out as read-only mappings.

Design:

- Replies are keyed by (emotion, valence): a reply expresses its emotion *and fits the event's
  outcome* (anger at a good outcome is resentment that it took so long; happiness at a bad one
  is relief or the bright side; surprise at a neutral one is being taken aback by how little
  happened, ...).
- Every template has the slots ``{agent}`` and/or ``{thing}``, filled with the agent and thing
  of the skeleton (:class:`circuits.data.generator.GeneratedSkeleton`), so a reply is about the
  event it answers. Templates never conjugate a present-tense verb after ``{agent}`` and never
  form its possessive, so singular ("my manager") and plural ("the judges") agents both fit.
- Many phrasings per cell (>= 10), with the vocabulary typical of each emotion and without the
  bare instruction noun ("anger", "fear", ...): a direction found in the model has to be about
  the emotion, not about one token copied from the prompt, and the judge can be measured on
  phrasings it never saw (:func:`split_templates`).
- Neutral replies are plain acknowledgements without any word of
  :data:`circuits.data.templates.EMOTION_WORDS`.
- Every reply is one or two sentences of 12-30 words (the prompts ask for at most two).
"""

from __future__ import annotations

import functools
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from circuits.data.generator import capitalise_sentences
from circuits.data.templates import TemplateFileError, from_json
from circuits.emotions import EMOTIONS, NEUTRAL, VALENCES

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable  # Python >= 3.11; only a type here

SLOTS: tuple[str, ...] = ("{agent}", "{thing}")
REPLIES_FILE = "replies.json"
"""The data file, a resource of this package (:mod:`circuits.testbed`)."""


@dataclass(frozen=True)
class ReplyTemplates:
    """The content of ``replies.json``, as read-only mappings in study order."""

    emotion: Mapping[tuple[str, str], tuple[str, ...]]
    """Emotional replies per (emotion, valence); 12 phrasings each."""
    neutral: Mapping[str, tuple[str, ...]]
    """Plain, emotionally muted acknowledgements per valence; 12 phrasings each."""


def _keyed(value: Any, keys: Sequence[str], file: str, where: str) -> dict:
    """``value`` checked to be a JSON object with exactly the keys ``keys`` (``where``: its path, "" at the top)."""
    if not isinstance(value, dict):
        raise TemplateFileError(f"{file}: {where or 'top level'}: expected an object keyed by {', '.join(keys)}, "
                                f"got {type(value).__name__}")
    prefix = f"{where}." if where else ""
    for key in keys:
        if key not in value:
            raise TemplateFileError(f"{file}: {prefix}{key}: missing key (expected {', '.join(keys)})")
    for key in value:
        if key not in keys:
            raise TemplateFileError(f"{file}: {prefix}{key}: unknown key (expected {', '.join(keys)})")
    return value


def read_replies(source: Path | Traversable | None = None) -> ReplyTemplates:
    """Parse and check a replies file (default: the packaged ``replies.json``); not cached."""
    source = resources.files(__package__).joinpath(REPLIES_FILE) if source is None else source
    file = str(source)
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise TemplateFileError(f"{file}: not valid JSON: {exc}") from None
    top = _keyed(data, ("emotion_replies", "neutral_replies"), file, "")
    by_emotion = _keyed(top["emotion_replies"], EMOTIONS, file, "emotion_replies")
    emotion = {}
    for e in EMOTIONS:
        cell = _keyed(by_emotion[e], VALENCES, file, f"emotion_replies.{e}")
        for v in VALENCES:
            emotion[(e, v)] = from_json(tuple[str, ...], cell[v], file, f"emotion_replies.{e}.{v}")
    by_valence = _keyed(top["neutral_replies"], VALENCES, file, "neutral_replies")
    neutral = {v: from_json(tuple[str, ...], by_valence[v], file, f"neutral_replies.{v}") for v in VALENCES}
    return ReplyTemplates(MappingProxyType(emotion), MappingProxyType(neutral))


@functools.cache
def load_replies() -> ReplyTemplates:
    """The packaged ``replies.json``, read once (every call returns the same object)."""
    return read_replies()


EMOTION_REPLIES: Mapping[tuple[str, str], tuple[str, ...]] = load_replies().emotion
"""Emotional replies per (emotion, valence); 12 phrasings each (read-only)."""

NEUTRAL_REPLIES: Mapping[str, tuple[str, ...]] = load_replies().neutral
"""Plain, emotionally muted acknowledgements per valence; 12 phrasings each (read-only)."""


def render_reply(template: str, agent: str, thing: str) -> str:
    """Fill a template's ``{agent}``/``{thing}`` slots; a slot at a sentence start is capitalised."""
    text = template.replace("{agent}", agent).replace("{thing}", thing)
    if "{" in text or "}" in text:
        raise ValueError(f"unknown slot in reply template {template!r}")
    return capitalise_sentences(text)


def reply_cells() -> dict[tuple[str, str], tuple[str, ...]]:
    """Every (label, valence) cell: the six emotions and ``neutral`` x the three valences."""
    cells = {(e, v): EMOTION_REPLIES[(e, v)] for e in EMOTIONS for v in VALENCES}
    cells.update({(NEUTRAL, v): NEUTRAL_REPLIES[v] for v in VALENCES})
    return cells


def split_templates(seed: int, holdout_per_cell: int) -> tuple[dict, dict]:
    """Split every (label, valence) cell's templates into (seen, held_out), deterministically.

    Both dicts are keyed by (label, valence) with ``label`` one of the six emotions or
    ``neutral``; ``held_out`` holds ``holdout_per_cell`` templates of every cell, ``seen`` the
    rest (original order kept in both).
    """
    cells = reply_cells()
    if holdout_per_cell < 0 or any(holdout_per_cell >= len(t) for t in cells.values()):
        raise ValueError(
            f"holdout_per_cell must be in [0, {min(len(t) for t in cells.values()) - 1}], got {holdout_per_cell}"
        )
    seen: dict[tuple[str, str], tuple[str, ...]] = {}
    held: dict[tuple[str, str], tuple[str, ...]] = {}
    for (label, valence), templates in cells.items():
        rng = random.Random(f"{seed}:{label}:{valence}")
        out = set(rng.sample(range(len(templates)), holdout_per_cell))
        seen[(label, valence)] = tuple(t for i, t in enumerate(templates) if i not in out)
        held[(label, valence)] = tuple(t for i, t in enumerate(templates) if i in out)
    return seen, held
