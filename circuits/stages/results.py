"""What the stages hand each other: the results that have no home in an analysis package.

The other stages' results are the analysis packages' own types (``EmotionDirections``,
``ComponentScores``); these two bundle what one stage makes for the next ones.
"""

from __future__ import annotations

from dataclasses import dataclass

from circuits.circuit.circuit import Circuit
from circuits.evaluation.records import JudgedReply
from circuits.modulation.vectors import InterventionVectors


@dataclass(frozen=True)
class Elicitation:
    """Judged replies per ``split/template`` and the groups kept for the directions."""

    records: dict[str, list[JudgedReply]]
    groups: tuple[tuple[str, str], ...]
    """(skeleton_id, valence) groups of the discovery split used downstream."""
    key: str
    """The ``split/template`` whose groups are used (discovery, model template)."""

    @property
    def discovery_replies(self) -> list[JudgedReply]:
        """The judged replies the groups were chosen from (discovery split, model template)."""
        return self.records.get(self.key, [])


@dataclass(frozen=True, eq=False)
class CircuitSet:
    """One circuit per emotion, the intervention vectors that modulate them, and the sublayer
    importance their budgets came from (as saved in ``importance.json``)."""

    circuits: dict[str, Circuit]
    vectors: InterventionVectors
    importance: dict
