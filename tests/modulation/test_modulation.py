"""Circuit modulation and the position policies: restores the model, s = 0 is a no-op,
batched equals unbatched, and every policy edits exactly the intended positions under the
KV cache (checked by a recording hook)."""

from __future__ import annotations

import pytest
import torch

from circuits.circuit.circuit import Circuit
from circuits.circuit.nodes import HeadNode, NeuronNode
from circuits.generation import Decoding, decode_step, generate
from circuits.interventions import AddToUnits, PhasedAddToUnits, Positions
from circuits.modulation.circuit_modulation import Strength, modulate
from circuits.modulation.vectors import InterventionVectors
from circuits.sites import NeuronsSite

PROMPTS = [
    [{"role": "system", "content": "Keep the reply to at most two sentences."},
     {"role": "user", "content": "I repaired the fence.\nMy neighbour looked at the fence and said nothing."}],
    [{"role": "system", "content": "Keep the reply to at most two sentences."},
     {"role": "user", "content": "I sent the report to my manager this morning after a long week of work.\nMy manager filed it."}],
    [{"role": "user", "content": "I booked the train.\nThe train was on time."}],
]


@pytest.fixture(scope="module")
def setup(emo_tiny):
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
    texts = [emo_tiny.render_chat(m) for m in PROMPTS]
    return vectors, circuit, texts


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


class _Recorder:
    """Records, per forward call, which positions an edit (by default an AddToUnits) changed."""

    def __init__(self, positions: Positions, edit=None) -> None:
        self.edit = edit or AddToUnits(torch.tensor([3]), torch.tensor([1.0]), positions, 1.0)
        self.calls: list[tuple[int | None, int, list[int]]] = []

    def __call__(self, act):
        out = self.edit(act)
        changed = (out != act).any(dim=-1)[0].nonzero().flatten().tolist()
        self.calls.append((decode_step(), act.shape[1], changed))
        return out


@pytest.mark.parametrize("policy", list(Positions))
def test_position_policy_hits_exactly_the_intended_positions(emo_tiny, setup, policy):
    _, _, texts = setup
    rec = _Recorder(policy)
    n_prompt = len(emo_tiny.token_ids(texts[0]))
    with emo_tiny.hooks([(NeuronsSite(2), rec)]):
        generate(emo_tiny, texts[:1], Decoding(max_new_tokens=6, min_new_tokens=6, batch_size=1), progress=False)
    assert [c[0] for c in rec.calls] == list(range(6)), "one prefill and five decoding steps"
    assert rec.calls[0][1] == n_prompt and all(c[1] == 1 for c in rec.calls[1:])
    expected_prefill = {
        Positions.LAST: [n_prompt - 1], Positions.ALL: list(range(n_prompt)), Positions.PROMPT_LAST: [n_prompt - 1],
        Positions.PROMPT: list(range(n_prompt)), Positions.GENERATED: [],
    }[policy]
    expected_step = [0] if policy in (Positions.LAST, Positions.ALL, Positions.GENERATED) else []
    assert rec.calls[0][2] == expected_prefill
    assert all(c[2] == expected_step for c in rec.calls[1:])


@pytest.mark.parametrize("reply_steps", [None, 1, 3])
def test_onset_push_stops_after_reply_steps(emo_tiny, setup, reply_steps):
    """An onset push edits the prompt and the first ``reply_steps`` decoding steps, nothing after."""
    _, _, texts = setup
    one = torch.tensor([1.0])
    rec = _Recorder(Positions.LAST, PhasedAddToUnits(torch.tensor([3]), one, one, Positions.LAST, 1.0, 1.0, reply_steps))
    n_prompt = len(emo_tiny.token_ids(texts[0]))
    with emo_tiny.hooks([(NeuronsSite(2), rec)]):
        generate(emo_tiny, texts[:1], Decoding(max_new_tokens=6, min_new_tokens=6, batch_size=1), progress=False)
    assert rec.calls[0][2] == [n_prompt - 1]
    edited_steps = [c[0] for c in rec.calls[1:] if c[2] == [0]]
    assert edited_steps == list(range(1, 6 if reply_steps is None else reply_steps + 1))


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
