"""Circuit modulation: s = 0 is a no-op, batched equals unbatched, and the onset push edits
exactly the decoding steps it should under the KV cache (checked by a recording hook; the
position policies and the onset push are tested in ``tests/test_interventions.py``)."""

from __future__ import annotations

import pytest
import torch

from circuits.circuit.circuit import Circuit
from circuits.generation import Decoding, generate
from circuits.modulation.circuit_modulation import Strength, modulate
from circuits.modulation.vectors import InterventionVectors
from circuits.nodes import HeadNode, NeuronNode


@pytest.fixture(scope="module")
def setup(emo_tiny, chat_texts):
    info = emo_tiny.info
    g = torch.Generator().manual_seed(0)
    vectors = InterventionVectors(
        torch.randn(6, info.n_layers, info.d_mlp, generator=g),
        torch.randn(6, info.n_layers, info.n_heads, info.d_head, generator=g),
        ("anger", "sadness", "happiness", "fear", "surprise", "disgust"), 10,
        torch.randn(6, info.n_layers, info.d_mlp, generator=g),
        torch.randn(6, info.n_layers, info.n_heads, info.d_head, generator=g),
    )
    nodes = {NeuronNode(1, 5): 1.0, NeuronNode(2, 7): 1.0, NeuronNode(2, 100): 1.0, HeadNode(1, 2): 1.0, HeadNode(3, 0): 1.0}
    circuit = Circuit.build("anger", nodes)
    return vectors, circuit, chat_texts


def test_scale_zero_gives_the_unmodified_replies(emo_tiny, setup):
    vectors, circuit, texts = setup
    dec = Decoding(max_new_tokens=32, batch_size=8)
    plain = generate(emo_tiny, texts, dec, progress=False)
    for strength in (0.0, Strength(0.0, 0.0, True)):
        with modulate(emo_tiny, circuit, vectors, "anger", strength):
            same = generate(emo_tiny, texts, dec, progress=False)
        assert [r.token_ids for r in same] == [r.token_ids for r in plain]


@pytest.mark.parametrize("strength", [Strength.study(1.5), Strength(2.0, 1.0, True)])
def test_modulated_batched_equals_one_at_a_time(emo_tiny, setup, strength):
    vectors, circuit, texts = setup
    with modulate(emo_tiny, circuit, vectors, "anger", strength):
        batched = generate(emo_tiny, texts, Decoding(max_new_tokens=32, batch_size=8), progress=False)
        single = [generate(emo_tiny, [t], Decoding(max_new_tokens=32, batch_size=1), progress=False)[0] for t in texts]
    assert [r.token_ids for r in batched] == [r.token_ids for r in single]
    with modulate(emo_tiny, circuit, vectors, "anger", strength):
        pass
    plain = generate(emo_tiny, texts, Decoding(max_new_tokens=32, batch_size=8), progress=False)
    assert [r.token_ids for r in batched] != [r.token_ids for r in plain], "the modulation should change something"


def test_context_restores_the_model_after_an_exception(emo_tiny, setup):
    vectors, circuit, texts = setup
    before = generate(emo_tiny, texts[:1], Decoding(max_new_tokens=16), progress=False)[0]
    with pytest.raises(RuntimeError):
        with modulate(emo_tiny, circuit, vectors, "anger", 3.0):
            assert emo_tiny.n_active_hooks() == len(circuit.layer_profile()["heads"]) + len(circuit.layer_profile()["neurons"])
            raise RuntimeError("boom")
    assert emo_tiny.n_active_hooks() == 0
    after = generate(emo_tiny, texts[:1], Decoding(max_new_tokens=16), progress=False)[0]
    assert after.token_ids == before.token_ids


def test_onset_push_is_the_full_push_while_it_lasts(emo_tiny, setup):
    """``reply_steps`` beyond the reply's length is the every-step push token for token; a short
    onset changes the replies (the push matters) and keeps their first tokens."""
    vectors, circuit, texts = setup
    dec = Decoding(max_new_tokens=24, batch_size=8)
    runs = {}
    for steps in (None, 24, 2):
        with modulate(emo_tiny, circuit, vectors, "anger", Strength(2.0, 3.0, True, steps)):
            runs[steps] = [r.token_ids for r in generate(emo_tiny, texts, dec, progress=False)]
    assert runs[24] == runs[None]
    assert runs[2] != runs[None]
    assert [r[:3] for r in runs[2]] == [r[:3] for r in runs[None]], "the first 3 tokens see the same push"


def test_strength_scales_keep_the_onset():
    s = Strength(2.0, 4.0, True, 2)
    assert s.times(1.5) == Strength(3.0, 6.0, True, 2)
    assert str(s) == "2/4 (reply dmu, first 2 steps)" and str(Strength.study(1.5)) == "1.5/1.5"
