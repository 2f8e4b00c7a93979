"""The fast decoding cache computes what TransformerLens computes, with every hook intact.

Three kinds of model: emo-tiny (plain multi-head attention, LayerNorm, rotary), a random GQA
model in SmolLM2's style (RMSNorm, gated MLP, 2 key-value heads for 4 query heads, rotary on
half of each head) and a random model with learned absolute position embeddings.
"""

from __future__ import annotations

import pytest
import torch

from circuits.generation import Decoding, generate
from circuits.model.fast_decode import (
    FastKVCache,
    fast_decoding_supported,
    install_fast_attention,
    new_fast_cache,
)
from circuits.sites import HeadsSite, NeuronsSite, ReadOut, ResidSite

PROMPTS = [
    [
        {"role": "system", "content": "Always reply in anger. Keep the reply to at most two sentences."},
        {"role": "user", "content": "I sent the report to my manager.\nMy manager rejected the report."},
    ],
    [{"role": "user", "content": "I planted tomatoes.\nThe tomatoes grew well."}],
    [{"role": "user", "content": "Hi"}],
    [
        {"role": "system", "content": "Always reply in sadness."},
        {"role": "user", "content": "My cat ran away.\nShe never came back."},
    ],
    [{"role": "user", "content": "I won the race."}],
    [
        {"role": "system", "content": "Keep the reply to at most two sentences."},
        {"role": "user", "content": "The bus was late.\nI missed the meeting."},
    ],
]


@pytest.fixture(scope="module")
def tiny_gqa(make_random_model):
    """SmolLM2's attention and MLP in miniature; rotary on 8 of the 16 head dimensions."""
    return make_random_model(n_key_value_heads=2, gated_mlp=True, rotary_dim=8)


@pytest.fixture(scope="module")
def tiny_standard(make_random_model):
    """Learned absolute position embeddings, added outside attention by HookedTransformer."""
    return make_random_model(positional_embedding_type="standard", normalization_type="LN", act_fn="gelu")


MODELS = ["emo_tiny", "tiny_model", "tiny_gqa", "tiny_standard"]


def _decode_against_full_forward(model, kv_cache, n_steps: int = 12):
    """Prefill a left-padded batch, then decode (one token, then chunks of 3, then one at a time),
    checking every call's logits against a no-cache forward over the whole sequence."""
    batch = model.encode([model.render_chat(m) for m in PROMPTS[:4]])
    tokens, mask = batch.tokens, batch.attention_mask
    n = len(batch)
    logits = model.forward(tokens, mask, kv_cache)
    capacity = _capacity(kv_cache)
    full = model.forward(tokens, mask)
    real = mask.bool()
    torch.testing.assert_close(logits[real], full[real], atol=1e-4, rtol=0)
    gen = torch.Generator().manual_seed(0)
    for step in range(n_steps):
        width = 3 if step in (1, 2) else 1
        new = torch.randint(0, model.info.d_vocab, (n, width), generator=gen)
        new_mask = torch.ones((n, width), dtype=torch.long)
        tokens, mask = torch.cat([tokens, new], 1), torch.cat([mask, new_mask], 1)
        logits = model.forward(new, new_mask, kv_cache)
        full = model.forward(tokens, mask)[:, -width:]
        torch.testing.assert_close(logits, full, atol=1e-4, rtol=0)
    return capacity, _capacity(kv_cache)


def _capacity(kv_cache) -> int | None:
    """Positions the fast cache's buffers hold (None for TransformerLens' cache)."""
    keys = getattr(kv_cache[0], "keys", None)
    return None if keys is None else keys.shape[2]


@pytest.mark.parametrize("name", MODELS)
def test_supported_and_installed(name, request):
    model = request.getfixturevalue(name)
    assert fast_decoding_supported(model.tl)
    assert model.fast_decoding
    assert isinstance(model.new_kv_cache(2), FastKVCache)
    classes = [type(b.attn) for b in model.tl.blocks]
    install_fast_attention(model.tl)
    assert [type(b.attn) for b in model.tl.blocks] == classes


@pytest.mark.parametrize("name", MODELS)
def test_cached_decoding_equals_full_forward(name, request):
    model = request.getfixturevalue(name)
    with torch.inference_mode():
        before, after = _decode_against_full_forward(model, new_fast_cache(model.tl, 4), n_steps=100)
    assert after > before, "decoding should have outgrown the first allocation"


def test_transformer_lens_cache_still_works(tiny_gqa):
    """The swapped attention class falls back to TransformerLens' path for its own cache."""
    from transformer_lens.cache.key_value_cache import TransformerLensKeyValueCache

    with torch.inference_mode():
        _decode_against_full_forward(tiny_gqa, TransformerLensKeyValueCache.init_cache(tiny_gqa.tl.cfg, "cpu", 4))


def test_greedy_generation_equals_transformer_lens_cache(emo_tiny, monkeypatch):
    texts = [emo_tiny.render_chat(m) for m in PROMPTS]
    decoding = Decoding(max_new_tokens=24, batch_size=6)
    fast = generate(emo_tiny, texts, decoding, progress=False)
    monkeypatch.setattr(emo_tiny, "fast_decoding", False)
    reference = generate(emo_tiny, texts, decoding, progress=False)
    assert [r.token_ids for r in fast] == [r.token_ids for r in reference]
    assert any(len(r.token_ids) > 3 for r in fast)


ATTENTION_HOOKS = (
    "hook_q",
    "hook_k",
    "hook_v",
    "hook_rot_q",
    "hook_rot_k",
    "hook_attn_scores",
    "hook_pattern",
    "hook_z",
)


def _record_attention_hooks(model, kv_cache, edit_z: bool):
    """Every attention hook of layer 1 over a prefill and three decoding steps (optionally with
    a hook that edits ``hook_z``), and the logits of each call."""
    seen: dict[str, list[torch.Tensor]] = {h: [] for h in ATTENTION_HOOKS}
    hooks = []
    for h in ATTENTION_HOOKS:
        hooks.append((f"blocks.1.attn.{h}", lambda act, hook, h=h: seen[h].append(act.clone())))
    if edit_z:
        hooks.append(("blocks.0.attn.hook_z", lambda act, hook: act * torch.tensor([1.0, 0.0, 2.0, -1.0])[:, None]))
    batch = model.encode([model.render_chat(m) for m in PROMPTS[:3]])
    logits = []
    ones = torch.ones((3, 1), dtype=torch.long)
    with model.tl.hooks(fwd_hooks=hooks):
        logits.append(model.forward(batch.tokens, batch.attention_mask, kv_cache)[:, -1])
        for _ in range(3):
            nxt = logits[-1].argmax(-1)[:, None]
            logits.append(model.forward(nxt, ones, kv_cache)[:, -1])
    return seen, logits


@pytest.mark.parametrize("edit_z", [False, True])
def test_attention_hooks_match_transformer_lens(tiny_gqa, edit_z):
    """Same shapes and values at every attention hook point; an edit of hook_z acts the same."""
    from transformer_lens.cache.key_value_cache import TransformerLensKeyValueCache

    with torch.inference_mode():
        fast_seen, fast_logits = _record_attention_hooks(tiny_gqa, new_fast_cache(tiny_gqa.tl, 3), edit_z)
        tl_cache = TransformerLensKeyValueCache.init_cache(tiny_gqa.tl.cfg, "cpu", 3)
        ref_seen, ref_logits = _record_attention_hooks(tiny_gqa, tl_cache, edit_z)
        plain_logits = _record_attention_hooks(tiny_gqa, new_fast_cache(tiny_gqa.tl, 3), False)[1]
    for h in ATTENTION_HOOKS:
        assert [a.shape for a in fast_seen[h]] == [a.shape for a in ref_seen[h]], h
        for a, b in zip(fast_seen[h], ref_seen[h]):
            # Fully masked (padding) rows are -inf in the scores of both: compare them as equal.
            torch.testing.assert_close(a, b, atol=1e-5, rtol=0, equal_nan=True)
    # hook_rot_k sees the whole key sequence, as in TransformerLens: it grows by one per step.
    assert [a.shape[1] for a in fast_seen["hook_rot_k"]][1:] == [
        fast_seen["hook_rot_k"][0].shape[1] + i for i in (1, 2, 3)
    ]
    for a, b in zip(fast_logits, ref_logits):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=0)
    if edit_z:
        assert not torch.allclose(fast_logits[-1], plain_logits[-1], atol=1e-3)


def test_in_place_edit_of_rot_k_does_not_touch_the_cache(tiny_gqa):
    """A hook editing hook_rot_k in place changes that call only, as with TransformerLens'
    cache (which keeps unrotated keys and re-rotates them every step)."""
    from transformer_lens.cache.key_value_cache import TransformerLensKeyValueCache

    batch = tiny_gqa.encode([tiny_gqa.render_chat(m) for m in PROMPTS[:2]])
    ones = torch.ones((2, 1), dtype=torch.long)
    nxt = torch.tensor([[5], [7]])

    def zero(act, hook):
        act[:, :-1] = 0.0

    def run(cache):
        with tiny_gqa.tl.hooks(fwd_hooks=[("blocks.0.attn.hook_rot_k", zero)]):
            tiny_gqa.forward(batch.tokens, batch.attention_mask, cache)
        return tiny_gqa.forward(nxt, ones, cache)

    with torch.inference_mode():
        clean = new_fast_cache(tiny_gqa.tl, 2)
        tiny_gqa.forward(batch.tokens, batch.attention_mask, clean)
        edited = new_fast_cache(tiny_gqa.tl, 2)
        fast = run(edited)
        reference = run(TransformerLensKeyValueCache.init_cache(tiny_gqa.tl.cfg, "cpu", 2))
    width = batch.tokens.shape[1]
    torch.testing.assert_close(edited[0].past_keys[:, :width], clean[0].past_keys, atol=0, rtol=0)
    torch.testing.assert_close(fast, reference, atol=1e-4, rtol=0)


def test_block_hooks_fire_during_fast_generation(emo_tiny, monkeypatch):
    """hook_z, resid_mid and mlp.hook_post fire with their usual shapes at every call, and an
    edit of hook_z changes generation exactly as it does with TransformerLens' cache."""
    info = emo_tiny.info
    texts = [emo_tiny.render_chat(m) for m in PROMPTS]
    decoding = Decoding(max_new_tokens=16, batch_size=6)
    shapes: dict[str, list[tuple[int, ...]]] = {"z": [], "mid": [], "post": []}

    def rec(key):
        return lambda act: shapes[key].append(tuple(act.shape))

    sites = [(HeadsSite(2), rec("z")), (ResidSite(1, ReadOut.RESID_MID), rec("mid")), (NeuronsSite(3), rec("post"))]
    with emo_tiny.hooks(sites):
        generate(emo_tiny, texts, decoding, progress=False)
    width = max(len(emo_tiny.token_ids(t)) for t in texts)
    assert shapes["z"][0] == (6, width, info.n_heads, info.d_head)
    assert shapes["mid"][0] == (6, width, info.d_model)
    assert shapes["post"][0] == (6, width, info.d_mlp)
    assert len(shapes["z"]) > 2
    assert set(shapes["z"][1:]) == {(6, 1, info.n_heads, info.d_head)}
    assert set(shapes["mid"][1:]) == {(6, 1, info.d_model)}
    assert set(shapes["post"][1:]) == {(6, 1, info.d_mlp)}

    def silence_head(z):
        z = z.clone()
        z[:, :, 1] = 0.0
        return z

    def steered():
        with emo_tiny.hooks([(HeadsSite(layer), silence_head) for layer in range(info.n_layers)]):
            return [r.token_ids for r in generate(emo_tiny, texts, decoding, progress=False)]

    plain = [r.token_ids for r in generate(emo_tiny, texts, decoding, progress=False)]
    fast = steered()
    monkeypatch.setattr(emo_tiny, "fast_decoding", False)
    assert fast == steered()
    assert fast != plain


def test_prefill_in_inference_mode_then_decode_outside(tiny_gqa):
    """Buffers made under ``torch.inference_mode`` are re-made when a later call runs outside it."""
    batch = tiny_gqa.encode([tiny_gqa.render_chat(m) for m in PROMPTS[:2]])
    cache = new_fast_cache(tiny_gqa.tl, 2)
    with torch.inference_mode():
        tiny_gqa.forward(batch.tokens, batch.attention_mask, cache)
    with torch.no_grad():
        nxt = torch.tensor([[5], [7]])
        logits = tiny_gqa.forward(nxt, torch.ones((2, 1), dtype=torch.long), cache)[:, -1]
        full = tiny_gqa.forward(
            torch.cat([batch.tokens, nxt], 1),
            torch.cat([batch.attention_mask, torch.ones((2, 1), dtype=torch.long)], 1),
        )[:, -1]
    torch.testing.assert_close(logits, full, atol=1e-4, rtol=0)


def test_frozen_cache_does_not_grow(tiny_gqa):
    batch = tiny_gqa.encode([tiny_gqa.render_chat(m) for m in PROMPTS[:2]])
    ones = torch.ones((2, 1), dtype=torch.long)
    with torch.inference_mode():
        cache = new_fast_cache(tiny_gqa.tl, 2)
        tiny_gqa.forward(batch.tokens, batch.attention_mask, cache)
        cache.freeze()
        a = tiny_gqa.forward(torch.tensor([[5], [7]]), ones, cache)
        b = tiny_gqa.forward(torch.tensor([[5], [7]]), ones, cache)
        assert cache[0].past_keys.shape[1] == batch.tokens.shape[1]
        assert cache.previous_attention_mask.shape[1] == batch.tokens.shape[1]
    torch.testing.assert_close(a, b, atol=0, rtol=0)


@pytest.mark.parametrize(
    "overrides",
    [
        {"positional_embedding_type": "alibi"},
        {"use_attention_sinks": True},
        {"attn_scores_soft_cap": 50.0},
        {"use_attn_result": True},
        {"use_split_qkv_input": True},
        {"attention_dir": "bidirectional"},
        {"positional_embedding_type": "shortformer"},
        {"use_local_attn": True, "attn_types": ["global", "local"], "window_size": 4},
    ],
)
def test_unsupported_configs_keep_transformer_lens_cache(overrides, make_random_model):
    from transformer_lens import HookedTransformer, HookedTransformerConfig

    from circuits.model.hooked import TLBackend

    args = dict(
        n_layers=2,
        d_model=16,
        n_heads=2,
        d_head=8,
        d_mlp=32,
        d_vocab=32,
        n_ctx=32,
        act_fn="gelu",
        positional_embedding_type="rotary",
        rotary_dim=8,
    )
    args.update(overrides)
    tl = HookedTransformer(HookedTransformerConfig(**args))
    assert not fast_decoding_supported(tl)
    with pytest.raises(ValueError):
        install_fast_attention(tl)
    model = TLBackend("unsupported", tl, make_random_model().tokenizer, [0])
    assert not model.fast_decoding
    assert not isinstance(model.new_kv_cache(1), FastKVCache)
