"""Sublayer importance against references: linear in alpha on a linear toy, batched over alphas
equal to one hooked forward per (sublayer, alpha), patching equal to a direct loop."""

from __future__ import annotations

import torch

from circuits.circuit.importance import injection_importance, patching_importance, readout_rms
from circuits.interventions import AddVector
from circuits.model.hooked import TLBackend
from circuits.sites import ReadOut, ResidSite, Sublayer, SublayerSite
from circuits.vocab import Positions

TEXTS = [
    "<|system|>Always reply in fear.<|end|>\n<|user|>I moved the couch.\nIt broke.<|end|>\n<|assistant|>",
    "<|system|>Keep it short.<|end|>\n<|user|>The bus came on time today.<|end|>\n<|assistant|>",
]


def _toy() -> TLBackend:
    from transformer_lens import HookedTransformer, HookedTransformerConfig

    from circuits.model.emo_tiny import END, make_tokenizer
    from circuits.paths import EMO_TINY_DIR

    tok = make_tokenizer(EMO_TINY_DIR / "tokenizer.json")
    cfg = HookedTransformerConfig(n_layers=1, d_model=32, n_heads=4, d_head=8, d_mlp=64, d_vocab=len(tok), n_ctx=128,
                                  act_fn="relu", normalization_type=None, seed=3, positional_embedding_type="rotary",
                                  rotary_dim=8)
    return TLBackend("toy", HookedTransformer(cfg), tok, [tok.convert_tokens_to_ids(END)])


def _dirs(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    v = torch.randn(2 * model.info.n_layers, model.info.d_model, generator=g)
    ref = torch.randn(model.info.d_model, generator=g)
    return v / v.norm(dim=-1, keepdim=True), ref / ref.norm()


def test_injection_is_linear_in_alpha_on_a_linear_toy():
    """The MLP output is the last sublayer: the final residual is linear in what is injected
    there, so Delta / (alpha sigma) is the same for every alpha and equals <v, v_ref>."""
    toy = _toy()
    batch = toy.encode(TEXTS)
    v, ref = _dirs(toy)
    sigma = readout_rms(toy, [batch])
    per_alpha = injection_importance(toy, batch, v, ref, sigma, [0.1, 0.3, 0.5, 0.7, 2.0])
    mlp = SublayerSite(0, Sublayer.MLP).readout.index
    assert torch.allclose(per_alpha[:, mlp], per_alpha[0, mlp].expand(5), atol=1e-4)
    assert torch.isclose(per_alpha[0, mlp], v[mlp] @ ref, atol=1e-4)


def test_batched_injection_equals_one_forward_per_sublayer_and_alpha(emo_tiny):
    batch = emo_tiny.encode(TEXTS)
    v, ref = _dirs(emo_tiny, 1)
    sigma = readout_rms(emo_tiny, [batch])
    alphas = [0.1, 0.7]
    fast = injection_importance(emo_tiny, batch, v, ref, sigma, alphas)
    final = ResidSite(emo_tiny.info.n_layers - 1, ReadOut.RESID_POST)
    clean = emo_tiny.run_until(final, batch.attention_mask, tokens=batch.tokens)[:, -1] @ ref
    for layer in range(emo_tiny.info.n_layers):
        for sub in Sublayer:
            site = SublayerSite(layer, sub)
            i = site.readout.index
            for a, alpha in enumerate(alphas):
                hook = AddVector(v[i], Positions.PROMPT_LAST, scale=float(alpha * sigma[i]))
                with emo_tiny.hooks([(site, hook)]):
                    out = emo_tiny.run_until(final, batch.attention_mask, tokens=batch.tokens)[:, -1] @ ref
                expected = ((out - clean) / (alpha * sigma[i])).mean()
                assert torch.isclose(fast[a, i], expected, atol=1e-3), (layer, sub, alpha)


def test_patching_importance_equals_direct_loop(emo_tiny):
    neutral = emo_tiny.encode([t.replace("Always reply in fear.", "Keep it short.") for t in TEXTS])
    emotional = emo_tiny.encode(TEXTS)
    _, ref = _dirs(emo_tiny, 2)
    fast = patching_importance(emo_tiny, neutral, emotional, ref)
    final = ResidSite(emo_tiny.info.n_layers - 1, ReadOut.RESID_POST)
    clean = emo_tiny.run_until(final, neutral.attention_mask, tokens=neutral.tokens)[:, -1] @ ref
    for layer in range(emo_tiny.info.n_layers):
        for sub in Sublayer:
            site = SublayerSite(layer, sub)
            store: dict = {}

            def grab(act, store=store):
                store["v"] = act[:, -1].clone()

            with emo_tiny.hooks([(site, grab)]):
                emo_tiny.run_until(final, emotional.attention_mask, tokens=emotional.tokens)

            def put(act, store=store):
                act = act.clone()
                act[:, -1] = store["v"]
                return act

            with emo_tiny.hooks([(site, put)]):
                out = emo_tiny.run_until(final, neutral.attention_mask, tokens=neutral.tokens)[:, -1] @ ref
            assert torch.isclose(fast[site.readout.index], (out - clean).mean(), atol=1e-3)
