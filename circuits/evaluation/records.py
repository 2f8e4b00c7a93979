"""Judged replies: one generated reply, the judge's label, and what it was measured for.

Every stage that generates writes :class:`JudgedReply` records (``*.jsonl``, one a line) and
every table is computed from them (:mod:`circuits.evaluation.accuracy`). A record is frozen; a
stage that adds what it measured (the method, the strength, fluency) makes a new record with
:meth:`JudgedReply.with_`.

The file format keeps the keys in a fixed order: the reply's own (``skeleton_id``, ``theme``,
``valence``, ``target``, ``label``, ``correct``, ``reply``, ``n_tokens``, ``finished``), then
only the extras that are set, in the order of :data:`EXTRAS`. The control comparison writes
``"strength": "0.0"`` (:data:`NO_STRENGTH`) for the methods that take none (no intervention,
prompting).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from circuits.data.prompts import Prompt
from circuits.emotions import NEUTRAL
from circuits.vocab import Method

NO_STRENGTH = "0.0"
"""The strength recorded for a compared method that takes none."""

EXTRAS = ("method", "strength", "perplexity", "distinct_2", "longest_repeat", "draw", "multiplier", "template",
          "split")
"""The optional fields, in file order."""


@dataclass(frozen=True)
class JudgedReply:
    """One reply to one prompt, judged against its target emotion."""

    skeleton_id: str
    theme: str
    valence: str
    target: str
    """The emotion the reply is meant to express (``neutral`` for an unmodified neutral prompt)."""
    label: str
    """The judge's verdict: one of the six emotions or ``neutral``."""
    reply: str
    n_tokens: int
    finished: bool
    """True when the reply ended with a stop token within the token budget."""
    method: Method | None = None
    strength: str | None = None
    """The strength the method was applied with, as text (``str`` of a float or a
    :class:`~circuits.modulation.circuit_modulation.Strength`; :data:`NO_STRENGTH` for none)."""
    perplexity: float | None = None
    """Perplexity of the reply under the unmodified model given the neutral prompt."""
    distinct_2: float | None = None
    longest_repeat: int | None = None
    draw: int | None = None
    """Which random circuit made the reply (the ``random`` control pools several draws)."""
    multiplier: float | None = None
    """The multiple of the chosen strength (accuracy-fluency sweeps)."""
    template: str | None = None
    split: str | None = None

    @property
    def has_strength(self) -> bool:
        """Whether a strength that says anything was recorded."""
        return self.strength not in (None, NO_STRENGTH)

    @property
    def correct(self) -> bool:
        """The judge's label is the target emotion."""
        return self.label == self.target

    @property
    def group(self) -> tuple[str, str]:
        """The (skeleton, valence) group of the prompt."""
        return (self.skeleton_id, self.valence)

    def with_(self, **changes: Any) -> JudgedReply:
        """A copy with ``changes`` (e.g. ``method=Method.CIRCUIT, strength=str(s)``)."""
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"skeleton_id": self.skeleton_id, "theme": self.theme, "valence": self.valence,
                               "target": self.target, "label": self.label, "correct": self.correct,
                               "reply": self.reply, "n_tokens": self.n_tokens, "finished": self.finished}
        for key in EXTRAS:
            value = getattr(self, key)
            if value is not None:
                out[key] = str(value) if key == "method" else value
        return out

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> JudgedReply:
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in obj.items() if k in fields}
        if values.get("method") is not None:
            values["method"] = Method(values["method"])
        return cls(**values)


def judged_records(
    prompts: Sequence[Prompt],
    replies: Sequence[Any],
    labels: Sequence[str],
    targets: Sequence[str] | None = None,
) -> list[JudgedReply]:
    """Records for replies (:class:`~circuits.generation.Reply`) already judged; the target
    defaults to the instructed emotion."""
    out = []
    for i, (p, r, lab) in enumerate(zip(prompts, replies, labels)):
        target = targets[i] if targets is not None else (p.emotion or NEUTRAL)
        out.append(JudgedReply(p.skeleton_id, p.theme, p.valence, target, lab, r.text, len(r.token_ids), r.finished))
    return out
