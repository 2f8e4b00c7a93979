"""Interventions: the position policies, the hook factories, the recording hook, and the context
manager that always removes what it attached."""

from __future__ import annotations

import pytest
import torch

from circuits.generation import Decoding, generate
from circuits.interventions import AddToUnits, PhasedAddToUnits, ScaleUnits, decode_step, intervene, scale_hooks
from circuits.model.backend import Record, StopForward
from circuits.nodes import HeadNode, NeuronNode
from circuits.sites import HeadsSite, NeuronsSite
from circuits.vocab import Positions


@pytest.mark.parametrize(("policy", "prefill", "step"), [
    (Positions.LAST, slice(9, 10), slice(0, 1)),
    (Positions.ALL, slice(0, 10), slice(0, 1)),
    (Positions.PROMPT_LAST, slice(9, 10), None),
    (Positions.PROMPT, slice(0, 10), None),
    (Positions.GENERATED, None, slice(0, 1)),
])
def test_position_policy_selects_by_decoding_step(policy, prefill, step):
    """Outside generation (None) and at the prefill (0) a call is the prompt; from step 1 on it is
    one fed-back token."""
    assert policy.select(10, None) == prefill
    assert policy.select(10, 0) == prefill
    assert policy.select(1, 3) == step


class EditRecorder:
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
def test_position_policy_hits_exactly_the_intended_positions(emo_tiny, chat_texts, policy):
    texts = chat_texts
    rec = EditRecorder(policy)
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
def test_onset_push_stops_after_reply_steps(emo_tiny, chat_texts, reply_steps):
    """An onset push edits the prompt and the first ``reply_steps`` decoding steps, nothing after."""
    texts = chat_texts
    one = torch.tensor([1.0])
    rec = EditRecorder(Positions.LAST, PhasedAddToUnits(torch.tensor([3]), one, one, Positions.LAST, 1.0, 1.0, reply_steps))
    n_prompt = len(emo_tiny.token_ids(texts[0]))
    with emo_tiny.hooks([(NeuronsSite(2), rec)]):
        generate(emo_tiny, texts[:1], Decoding(max_new_tokens=6, min_new_tokens=6, batch_size=1), progress=False)
    assert rec.calls[0][2] == [n_prompt - 1]
    edited_steps = [c[0] for c in rec.calls[1:] if c[2] == [0]]
    assert edited_steps == list(range(1, 6 if reply_steps is None else reply_steps + 1))




def test_scale_hooks_zero_ablate_and_enhance_exactly_the_nodes():
    """Scale 0 zeroes the nodes' units and nothing else; scale 2 doubles them."""
    nodes = [NeuronNode(1, 3), NeuronNode(1, 7), HeadNode(0, 2), NeuronNode(0, 0)]
    hooks = dict(scale_hooks(nodes, 0.0))
    assert set(hooks) == {NeuronsSite(0), NeuronsSite(1), HeadsSite(0)}
    assert hooks[NeuronsSite(1)].index.tolist() == [3, 7]
    act = torch.randn(2, 5, 8)
    zeroed = hooks[NeuronsSite(1)](act)
    assert torch.all(zeroed[..., [3, 7]] == 0) and torch.equal(zeroed[..., [0, 1, 2, 4, 5, 6]], act[..., [0, 1, 2, 4, 5, 6]])
    z = torch.randn(2, 5, 4, 3)
    doubled = dict(scale_hooks(nodes, 2.0))[HeadsSite(0)](z)
    assert torch.allclose(doubled[:, :, 2], 2 * z[:, :, 2]) and torch.equal(doubled[:, :, [0, 1, 3]], z[:, :, [0, 1, 3]])
    baseline = torch.full((2,), 5.0)
    to_mean = ScaleUnits(torch.tensor([3, 7]), Positions.ALL, 0.0, baseline)(act)
    assert torch.all(to_mean[..., [3, 7]] == 5.0)


def test_intervene_removes_its_hooks_even_when_the_body_raises(tiny_model):
    hook = AddToUnits(torch.tensor([0]), torch.tensor([1.0]), Positions.ALL)
    with pytest.raises(RuntimeError, match="boom"), intervene(tiny_model, [(NeuronsSite(0), hook)]):
        assert tiny_model.n_active_hooks() == 1
        raise RuntimeError("boom")
    assert tiny_model.n_active_hooks() == 0


def test_record_keeps_what_it_is_asked_for_and_leaves_the_activation_alone():
    act = torch.arange(24, dtype=torch.float64).reshape(2, 3, 4)
    last = Record(last=True, dtype=torch.float32)
    assert last(act) is None and last.value.dtype == torch.float32 and torch.equal(last.value, act[:, -1].float())
    append = Record(append=True)
    append(act)
    append(act + 1)
    assert len(append.values) == 2 and torch.equal(append.values[1], act + 1)
    assert append.values[0].data_ptr() != act.data_ptr(), "appended values are private copies"
    leaf = torch.ones(2, 2, requires_grad=True)
    graph = leaf * 3
    kept = Record(grad=True)
    kept(graph)
    graph.sum().backward()
    assert kept.value is graph and torch.equal(kept.value.grad, torch.ones(2, 2))
    stop = Record(stop=True)
    with pytest.raises(StopForward):
        stop(act)
    assert stop.value is not None
