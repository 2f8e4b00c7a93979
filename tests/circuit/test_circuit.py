"""Circuit objects: JSON round trip, hashing, set operations."""

from __future__ import annotations

from circuits.circuit.circuit import Circuit
from circuits.nodes import HeadNode, NeuronNode, parse_node


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


def test_random_control_matches_the_layer_profile_and_shares_no_node():
    """The random control is the same shape as the circuit but none of it: a control that may
    draw the circuit's own heads is partly the circuit (emo-tiny's 6-of-24-head circuits did)."""
    import random
    from types import SimpleNamespace

    from circuits.circuit.quality import random_circuit

    model = SimpleNamespace(info=SimpleNamespace(n_heads=4, d_mlp=8))
    circuit = _c("fear", [HeadNode(0, 0), HeadNode(0, 1), HeadNode(2, 3), NeuronNode(1, 0), NeuronNode(1, 5),
                          NeuronNode(1, 7), NeuronNode(3, 2)])
    rng = random.Random(0)
    seen = set()
    for _ in range(200):
        r = random_circuit(circuit, model.info, rng)
        assert r.layer_profile() == circuit.layer_profile()
        assert not (r.nodes & circuit.nodes)
        seen |= r.nodes
    # every free unit of the circuit's layers is reachable, nothing else is
    free_heads = {HeadNode(0, 2), HeadNode(0, 3)} | {HeadNode(2, h) for h in range(3)}
    free_neurons = {NeuronNode(1, j) for j in range(8)} - circuit.nodes | {NeuronNode(3, j) for j in range(8) if j != 2}
    assert seen == free_heads | free_neurons
    # overlapping draws are still available, and do reach the circuit's own units
    assert any(random_circuit(circuit, model.info, rng, disjoint=False).nodes & circuit.nodes for _ in range(50))
    # a circuit holding 3 of a layer's 4 heads: the control takes the free head and 2 of the 3
    big = _c("fear", [HeadNode(0, h) for h in range(3)])
    for _ in range(20):
        r = random_circuit(big, model.info, rng)
        assert r.layer_profile() == big.layer_profile() and HeadNode(0, 3) in r.nodes and len(r.nodes & big.nodes) == 2
