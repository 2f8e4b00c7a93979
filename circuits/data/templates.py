"""Templates of the project's own SEV data, loaded from ``themes.json`` (next to this module).

Read by :mod:`circuits.data.generator`. The file holds the themes and the emotion word list; this
module only loads it (once) into frozen dataclasses and checks its shape: every field present,
of the right type, and no unknown key (:class:`TemplateFileError` names the file and the field).

Every theme (:class:`Theme`) is a tuple of *groups* (:class:`Group`); a group is one coherent kind
of situation (a document handed in for review, a request to an office, an item lent to a friend,
...). Within a group every scenario frame reads naturally with every agent and every thing, and
every outcome triple follows naturally from every scenario frame, so the generator may combine
them freely; groups are never mixed.

Theme fields: ``name`` (the SEV theme, e.g. "Work/Job"), ``prefix`` (of the skeleton ids, e.g.
``work``) and ``groups``.

Group fields:

- ``kind``: what kind of situation the group is (documentation only).
- ``agents``: who reacts, lowercase noun phrases ("my manager", "the judges"). Frames never
  conjugate a verb in the present tense after an agent, so singular and plural agents both fit.
- ``things``: what the scenario is about, singular noun phrases (frames may say "it").
- ``test_things``: things held out for the test split only (content the model never saw).
- ``scenarios``: neutral first-person frames with the slots ``{thing}`` and ``{agent}``.
- ``test_scenarios``: scenario frames held out for the test split only.
- ``outcomes``: ``(positive, neutral, negative)`` event frames that share their wording and
  differ in outcome, with the slots ``{agent}`` and ``{thing}``.

The ten themes have two groups each; each group: 6 agents, 9 things (+2 held out), 6 scenario
frames (+1 held out), 6 outcome triples.

No frame and no pool entry may contain a word of :data:`EMOTION_WORDS`: the emotion of a reply
has to be implied by the outcome, never named by the event.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import typing
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable  # Python >= 3.11; only a type here

THEMES_FILE = "themes.json"
"""The data file, a resource of this package (:mod:`circuits.data`)."""


class TemplateFileError(ValueError):
    """A data file does not have the shape of its dataclasses (names the file and the field)."""


@dataclass(frozen=True)
class Group:
    """One coherent kind of situation of a theme; see the module docstring for the fields."""

    kind: str
    agents: tuple[str, ...]
    things: tuple[str, ...]
    test_things: tuple[str, ...]
    scenarios: tuple[str, ...]
    test_scenarios: tuple[str, ...]
    outcomes: tuple[tuple[str, str, str], ...]
    """``(positive, neutral, negative)`` event frames."""


@dataclass(frozen=True)
class Theme:
    """One SEV theme and its groups."""

    name: str
    prefix: str
    groups: tuple[Group, ...]


@dataclass(frozen=True)
class TemplateData:
    """The content of ``themes.json``."""

    themes: tuple[Theme, ...]
    emotion_words: frozenset[str]
    """Words that name or plainly state an emotion (lowercase)."""


def from_json(tp: Any, value: Any, file: str, where: str = "") -> Any:
    """``value`` (parsed JSON) as a ``tp``, checked strictly; ``where`` is its path in the file.

    ``tp`` (and, for a frozen dataclass, each of its fields) may be ``str``, a frozen dataclass
    (from a JSON object with exactly its fields), ``tuple[X, ...]``, a fixed-length
    ``tuple[X, Y, ...]`` or ``frozenset[X]`` (from JSON lists). Raises :class:`TemplateFileError`
    naming ``file`` and the field on a missing or unknown key, a wrong type, a wrong length or a
    repeated set member.
    """
    return _convert(tp, value, file, where)


def _fail(file: str, where: str, problem: str) -> typing.NoReturn:
    raise TemplateFileError(f"{file}: {where or 'top level'}: {problem}")


def _field(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _convert(tp: Any, value: Any, file: str, where: str) -> Any:
    if tp is str:
        if not isinstance(value, str):
            _fail(file, where, f"expected a string, got {type(value).__name__}")
        return value
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            _fail(file, where, f"expected an object with the fields of {tp.__name__}, got {type(value).__name__}")
        hints = typing.get_type_hints(tp)
        names = [f.name for f in dataclasses.fields(tp)]
        missing = [n for n in names if n not in value]
        unknown = [k for k in value if k not in names]
        if missing:
            _fail(file, _field(where, missing[0]), f"missing field (expected {', '.join(names)})")
        if unknown:
            _fail(file, _field(where, unknown[0]), f"unknown field (expected {', '.join(names)})")
        return tp(**{n: _convert(hints[n], value[n], file, _field(where, n)) for n in names})
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (tuple, frozenset):
        if not isinstance(value, list):
            _fail(file, where, f"expected a list, got {type(value).__name__}")
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            if len(value) != len(args):
                _fail(file, where, f"expected {len(args)} items, got {len(value)}")
            return tuple(_convert(a, v, file, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
        items = [_convert(args[0], v, file, f"{where}[{i}]") for i, v in enumerate(value)]
        if origin is frozenset:
            if len(set(items)) != len(items):
                _fail(file, where, "repeated entries")
            return frozenset(items)
        return tuple(items)
    raise TypeError(f"unsupported field type {tp!r} at {where}")  # a bug in the dataclasses, not the file


def read_templates(source: Path | Traversable | None = None) -> TemplateData:
    """Parse and check a themes file (default: the packaged ``themes.json``); not cached."""
    source = resources.files(__package__).joinpath(THEMES_FILE) if source is None else source
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise TemplateFileError(f"{source}: not valid JSON: {exc}") from None
    return from_json(TemplateData, data, str(source))


@functools.cache
def load_templates() -> TemplateData:
    """The packaged ``themes.json``, read once (every call returns the same object)."""
    return read_templates()


THEMES: tuple[Theme, ...] = load_templates().themes
"""The ten themes (``themes.json``)."""

EMOTION_WORDS: frozenset[str] = load_templates().emotion_words
"""Words that name or plainly state an emotion. None may occur (as a word, in any case) in a
scenario or an event; neutral replies may not use them either."""

__all__ = [
    "EMOTION_WORDS",
    "THEMES",
    "THEMES_FILE",
    "Group",
    "TemplateData",
    "TemplateFileError",
    "Theme",
    "from_json",
    "load_templates",
    "read_templates",
]
