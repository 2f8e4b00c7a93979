"""Circuit objects: JSON round trip, hashing, set operations."""

from __future__ import annotations

from circuits.circuit.circuit import Circuit
from circuits.circuit.nodes import HeadNode, NeuronNode, parse_node


def _c(emotion, nodes):
    return Circuit.build(emotion, {n: float(i) for i, n in enumerate(nodes)}, {"model": "toy"})


def test_round_trip_through_json(tmp_path):
    c = _c("fear", [HeadNode(0, 1), NeuronNode(2, 17), NeuronNode(0, 3)])
    c.save(tmp_path / "c.json")
    back = Circuit.load(tmp_path / "c.json")
    assert back == c and hash(back) == hash(c)
    assert back.scores == c.scores and dict(back.provenance) == {"model": "toy"}
    assert back.layer_profile() == {"heads": {0: 1}, "neurons": {0: 1, 2: 1}}


def test_set_operations_and_jaccard():
    a = _c("anger", [HeadNode(0, 1), NeuronNode(1, 2), NeuronNode(1, 3)])
    b = _c("disgust", [NeuronNode(1, 2), NeuronNode(1, 3), HeadNode(2, 0)])
    assert (a & b).nodes == {NeuronNode(1, 2), NeuronNode(1, 3)}
    assert len(a | b) == 4
    assert a.jaccard(b) == 0.5 and a.jaccard(a) == 1.0
    assert len({a, _c("anger", [HeadNode(0, 1), NeuronNode(1, 2), NeuronNode(1, 3)])}) == 1


def test_node_names_parse_back():
    for n in [HeadNode(3, 5), NeuronNode(12, 1023)]:
        assert parse_node(str(n)) == n
