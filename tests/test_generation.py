"""The generation engine: batched equals one at a time, KV cache equals recomputation,
decode_step tells hooks where they are, and hooks never leak."""

from __future__ import annotations

import pytest
import torch

from circuits.generation import Decoding, generate
from circuits.interventions import decode_step
from circuits.sites import ReadOut, ResidSite

PROMPTS = [
    [{"role": "system", "content": "Always reply in anger. Keep the reply to at most two sentences."},
     {"role": "user", "content": "I sent the report to my manager.\nMy manager rejected the report."}],
    [{"role": "user", "content": "I planted tomatoes.\nThe tomatoes grew well, and the neighbours asked for seeds."}],
    [{"role": "system", "content": "Keep the reply to at most two sentences."},
     {"role": "user", "content": "Hi"}],
]


def _texts(model):
    return [model.render_chat(m) for m in PROMPTS]


def _greedy_reference(model, text, n):
    """Recompute the whole sequence at every step: no cache, no padding."""
    ids = model.token_ids(text)
    out = []
    with torch.inference_mode():
        for _ in range(n):
            batch = model.pad([ids + out])
            nxt = int(model.forward(batch.tokens, batch.attention_mask)[0, -1].argmax())
            out.append(nxt)
            if nxt in model.stop_token_ids:
                break
    return out


def test_kv_cache_generation_equals_recomputation(tiny_model):
    for text in _texts(tiny_model):
        reply = generate(tiny_model, [text], Decoding(max_new_tokens=12, batch_size=1), progress=False)[0]
        ref = _greedy_reference(tiny_model, text, 12)
        if ref and ref[-1] in tiny_model.stop_token_ids:
            ref = ref[:-1]
        assert list(reply.token_ids) == ref


@pytest.mark.parametrize("model_name", ["tiny_model", "emo_tiny"])
def test_batched_with_padding_equals_one_at_a_time(model_name, request):
    model = request.getfixturevalue(model_name)
    texts = _texts(model)
    batched = generate(model, texts, Decoding(max_new_tokens=24, batch_size=8), progress=False)
    single = [generate(model, [t], Decoding(max_new_tokens=24, batch_size=1), progress=False)[0] for t in texts]
    assert [r.token_ids for r in batched] == [r.token_ids for r in single]


def test_decode_step_is_visible_to_hooks(tiny_model):
    seen = []

    def record(act):
        seen.append((decode_step(), act.shape[1]))

    text = _texts(tiny_model)[0]
    n_prompt = len(tiny_model.token_ids(text))
    with tiny_model.hooks([(ResidSite(0, ReadOut.RESID_POST), record)]):
        reply = generate(tiny_model, [text], Decoding(max_new_tokens=5, batch_size=1), progress=False)[0]
    assert seen[0] == (0, n_prompt)
    assert [s for s, _ in seen[1:]] == list(range(1, len(seen)))
    assert all(width == 1 for _, width in seen[1:])
    assert decode_step() is None
    # one prefill, then one call per generated token except the last one (never fed back)
    n_generated = len(reply.token_ids) + int(reply.finished)
    assert len(seen) == n_generated


def test_hooks_removed_even_when_body_raises(tiny_model):
    def add_one(act):
        return act + 1

    with pytest.raises(RuntimeError):
        with tiny_model.hooks([(ResidSite(1, ReadOut.RESID_MID), add_one)]):
            assert tiny_model.n_active_hooks() == 1
            raise RuntimeError("boom")
    assert tiny_model.n_active_hooks() == 0


def _job_hooks(model, k: int):
    """Job ``k``'s intervention: none, a push on some neurons, a residual steering vector, or an
    onset push on heads (reply steps 1-2 only): rows of one batch under different edits."""
    from circuits.interventions import AddToUnits, AddVector, PhasedAddToUnits
    from circuits.sites import HeadsSite, NeuronsSite
    from circuits.vocab import Positions

    g = torch.Generator().manual_seed(k)
    info = model.info
    if k % 4 == 0:
        return []
    if k % 4 == 1:
        idx = torch.tensor([1, 5, 9])
        return [(NeuronsSite(0), AddToUnits(idx, 3 * torch.randn(3, generator=g), Positions.LAST))]
    if k % 4 == 2:
        return [(ResidSite(info.n_layers - 1, ReadOut.RESID_MID), AddVector(torch.randn(info.d_model, generator=g),
                                                                           Positions.LAST, 4.0, rms_scaled=True))]
    heads = torch.tensor([0, 2])
    vals = 2 * torch.randn(2, info.d_head, generator=g)
    return [(HeadsSite(1), PhasedAddToUnits(heads, vals, -vals, Positions.ALL, 1.0, 2.0, reply_steps=2))]


@pytest.mark.parametrize("model_name", ["emo_tiny", "tiny_gqa"])
def test_a_batch_of_jobs_equals_each_job_generated_on_its_own(model_name, request):
    """Eight jobs, each with its own intervention, share batches of five rows (so batches mix
    jobs, and a job's rows are spread over several batches): every reply is token-identical to
    the job's own generation with its hooks attached around it."""
    from circuits.generation import Job, generate_jobs

    model = request.getfixturevalue(model_name)
    texts = _texts(model)
    jobs = [Job(texts[k % 3:] + texts[: k % 3], _job_hooks(model, k)) for k in range(8)]
    together = generate_jobs(model, jobs, Decoding(max_new_tokens=16, batch_size=5), progress=False)
    for job, replies in zip(jobs, together):
        with model.hooks(job.hooks):
            alone = generate(model, list(job.prompts), Decoding(max_new_tokens=16, batch_size=8), progress=False)
        assert [r.token_ids for r in replies] == [r.token_ids for r in alone]
    assert len({tuple(r.token_ids) for rs in together for r in rs}) > len(texts), "the interventions changed replies"
    assert model.n_active_hooks() == 0


@pytest.fixture(scope="module")
def tiny_gqa(make_random_model):
    return make_random_model(n_key_value_heads=2, gated_mlp=True, rotary_dim=8)
