"""``Circuit``: an emotion's set of heads and neurons, with scores and provenance.

Immutable and hashable (by emotion and nodes), so circuits can be put in sets and compared:
``a | b``, ``a & b`` and :meth:`Circuit.jaccard`. Saved as readable JSON.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from circuits.artifacts import atomic_write_bytes, dumps_json
from circuits.nodes import HeadNode, NeuronNode, Node, parse_node


@dataclass(frozen=True)
class Circuit:
    """A set of typed nodes for one emotion (or a combination of emotions)."""

    emotion: str
    nodes: frozenset[Node]
    scores: tuple[tuple[Node, float], ...] = field(default=(), compare=False)
    """(node, local score) pairs; the score that selected the node."""
    provenance: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    """How the circuit was made: (key, value) pairs (model, budget, score kinds, ...)."""

    @classmethod
    def build(cls, emotion: str, scored: Mapping[Node, float], provenance: Mapping[str, object] = {}) -> Circuit:
        ordered = tuple(sorted(scored.items(), key=lambda kv: (kv[0].layer, isinstance(kv[0], NeuronNode), kv[0].index)))
        return cls(emotion, frozenset(scored), ordered, tuple((k, str(v)) for k, v in provenance.items()))

    @property
    def heads(self) -> list[HeadNode]:
        return sorted(n for n in self.nodes if isinstance(n, HeadNode))

    @property
    def neurons(self) -> list[NeuronNode]:
        return sorted(n for n in self.nodes if isinstance(n, NeuronNode))

    def score(self, node: Node) -> float:
        return dict(self.scores).get(node, 0.0)

    def layer_profile(self) -> dict[str, dict[int, int]]:
        """Nodes per layer, by kind: the profile a random control circuit must match."""
        return {
            "heads": dict(sorted(Counter(n.layer for n in self.heads).items())),
            "neurons": dict(sorted(Counter(n.layer for n in self.neurons).items())),
        }

    def __len__(self) -> int:
        return len(self.nodes)

    # --- set operations -----------------------------------------------------------------------
    def _combine(self, other: Circuit, nodes: Iterable[Node], op: str) -> Circuit:
        mine, theirs = dict(self.scores), dict(other.scores)
        scored = {n: mine.get(n, theirs.get(n, 0.0)) for n in nodes}
        return Circuit.build(f"{self.emotion}{op}{other.emotion}", scored, {"from": f"{self.emotion} {op} {other.emotion}"})

    def __or__(self, other: Circuit) -> Circuit:
        return self._combine(other, self.nodes | other.nodes, "|")

    def __and__(self, other: Circuit) -> Circuit:
        return self._combine(other, self.nodes & other.nodes, "&")

    def union(self, other: Circuit) -> Circuit:
        return self | other

    def intersection(self, other: Circuit) -> Circuit:
        return self & other

    def jaccard(self, other: Circuit) -> float:
        union = self.nodes | other.nodes
        return len(self.nodes & other.nodes) / len(union) if union else 1.0

    # --- persistence --------------------------------------------------------------------------
    def to_json(self) -> dict:
        return {
            "emotion": self.emotion,
            "n_heads": len(self.heads),
            "n_neurons": len(self.neurons),
            "layer_profile": self.layer_profile(),
            "nodes": [{"node": str(n), "score": round(s, 8)} for n, s in self.scores],
            "provenance": dict(self.provenance),
        }

    @classmethod
    def from_json(cls, obj: Mapping) -> Circuit:
        scored = {parse_node(item["node"]): float(item["score"]) for item in obj["nodes"]}
        return cls.build(obj["emotion"], scored, obj.get("provenance", {}))

    def save(self, path: str | Path) -> None:
        atomic_write_bytes(Path(path), dumps_json(self.to_json()).encode())

    @classmethod
    def load(cls, path: str | Path) -> Circuit:
        return cls.from_json(json.loads(Path(path).read_text()))
