"""Fast scorers against slow, obviously correct references on tiny models."""

from __future__ import annotations

import pytest
import torch

from circuits.attribution.gradients import attribution_patching
from circuits.attribution.heads import HeadTargets, direct_head_effects, exact_head_effects, mean_z
from circuits.attribution.slow import per_head_loop
from circuits.model.hooked import TLBackend
from circuits.sites import NeuronsSite, ReadOut, ResidSite
from circuits.vocab import Ablation, Metric

TEXTS = [
    "<|system|>Always reply in fear.<|end|>\n<|user|>I moved the couch.\nIt broke.<|end|>\n<|assistant|>",
    "<|system|>Keep it short.<|end|>\n<|user|>The bus came on time today.<|end|>\n<|assistant|>",
    "<|user|>My friend called me after a long time.<|end|>\n<|assistant|>",
]


def _targets(model: TLBackend, seed: int = 0) -> HeadTargets:
    g = torch.Generator().manual_seed(seed)
    d = model.info.d_model
    v = torch.randn(model.info.n_layers, d, generator=g)
    return HeadTargets(v / v.norm(dim=-1, keepdim=True), torch.randn(d, generator=g) / d**0.5)


@pytest.mark.parametrize("ablation", list(Ablation))
def test_batched_head_ablation_equals_per_head_loop(emo_tiny, ablation):
    batch = emo_tiny.encode(TEXTS)
    targets = _targets(emo_tiny)
    mean = mean_z(emo_tiny, [batch]) if ablation is Ablation.MEAN else None
    fast = exact_head_effects(emo_tiny, batch, targets, ablation, mean, metrics=(Metric.SAME_LAYER, Metric.FINAL))
    same, final = per_head_loop(emo_tiny, batch, targets, ablation, mean)
    assert torch.allclose(fast[Metric.SAME_LAYER], same, atol=1e-5)
    assert torch.allclose(fast[Metric.FINAL], final, atol=1e-5)
    direct = direct_head_effects(emo_tiny, batch, targets, ablation, mean)
    assert torch.allclose(direct, same, atol=1e-5)


def test_neuron_contributions_decompose_the_mlp_output(emo_tiny):
    """sum_j a_j (W_out v)_j + <b_out, v> == <mlp_out, v> at every layer (decomposition identity)."""
    from circuits.activations import read_last_token
    from circuits.sites import Sublayer, SublayerSite

    L = emo_tiny.info.n_layers
    sites = [NeuronsSite(layer) for layer in range(L)] + [SublayerSite(layer, Sublayer.MLP) for layer in range(L)]
    acts = read_last_token(emo_tiny, TEXTS, sites)
    v = _targets(emo_tiny, 3).same_layer
    for layer in range(L):
        W, b = emo_tiny.mlp_out_weight(NeuronsSite(layer)), emo_tiny.mlp_out_bias(NeuronsSite(layer))
        contributions = acts[NeuronsSite(layer)] * (W @ v[layer])
        lhs = contributions.sum(-1) + b @ v[layer]
        rhs = acts[SublayerSite(layer, Sublayer.MLP)] @ v[layer]
        assert torch.allclose(lhs, rhs, atol=1e-4)


def _linear_toy(attn_only: bool) -> TLBackend:
    """One layer, no normalisation: the final residual is linear in every head's z and every
    neuron's activation, so attribution patching must be exact."""
    from transformer_lens import HookedTransformer, HookedTransformerConfig

    from circuits.model.emo_tiny import END, make_tokenizer
    from circuits.paths import EMO_TINY_DIR

    tok = make_tokenizer(EMO_TINY_DIR / "tokenizer.json")
    cfg = HookedTransformerConfig(n_layers=1, d_model=32, n_heads=4, d_head=8, d_mlp=64, d_vocab=len(tok), n_ctx=128,
                                  act_fn="relu", normalization_type=None, attn_only=attn_only, seed=1,
                                  positional_embedding_type="rotary", rotary_dim=8)
    return TLBackend("toy", HookedTransformer(cfg), tok, [tok.convert_tokens_to_ids(END)])


@pytest.mark.parametrize("ablation", [Ablation.ZERO, Ablation.MEAN, Ablation.RESAMPLE])
def test_attribution_patching_equals_exact_patching_on_linear_toy(ablation):
    toy = _linear_toy(attn_only=True)
    batch = toy.encode(TEXTS)
    targets = _targets(toy, 1)
    mean = mean_z(toy, [batch]) if ablation is Ablation.MEAN else None
    exact = exact_head_effects(toy, batch, targets, ablation, mean, metrics=(Metric.FINAL,))[Metric.FINAL]
    attr = attribution_patching(toy, batch, targets.final, ablation, mean_z=mean)
    assert torch.allclose(attr.heads, exact, atol=1e-5)


def test_neuron_attribution_equals_exact_ablation_on_linear_toy():
    toy = _linear_toy(attn_only=False)
    batch = toy.encode(TEXTS)
    v = _targets(toy, 2).final
    attr = attribution_patching(toy, batch, v, Ablation.ZERO)
    site = NeuronsSite(0)
    final_site = ResidSite(0, ReadOut.RESID_POST)
    clean = toy.run_until(final_site, batch.attention_mask, tokens=batch.tokens)[:, -1] @ v
    for j in [0, 5, 17, 63]:
        def zero(act, j=j):
            act = act.clone()
            act[:, :, j] = 0
            return act

        with toy.hooks([(site, zero)]):
            out = toy.run_until(final_site, batch.attention_mask, tokens=batch.tokens)[:, -1] @ v
        assert torch.isclose(attr.neurons[0, j], (clean - out).mean(), atol=1e-5)


@pytest.mark.parametrize("ablation", list(Ablation))
@pytest.mark.parametrize("arch", ["emo-tiny", "gqa", "standard"])
def test_same_layer_sweep_from_last_query_equals_per_head_loop(emo_tiny, make_random_model, arch, ablation):
    """The same-layer-only sweep (cached prefix, last-token attention) against full ablated
    forwards, on emo-tiny, on SmolLM2's architecture in miniature (GQA, RMSNorm, gated MLP,
    partial rotary) and on learned absolute positions (which depend on the cache's length)."""
    model = {
        "emo-tiny": lambda: emo_tiny,
        "gqa": lambda: make_random_model(n_key_value_heads=2, gated_mlp=True, rotary_dim=8),
        "standard": lambda: make_random_model(positional_embedding_type="standard", normalization_type="LN",
                                              act_fn="gelu"),
    }[arch]()
    batch = model.encode(TEXTS)  # three lengths: left padding in the cached prefix
    targets = _targets(model, 4)
    mean = mean_z(model, [batch]) if ablation is Ablation.MEAN else None
    fast = exact_head_effects(model, batch, targets, ablation, mean, metrics=(Metric.SAME_LAYER,))
    assert set(fast) == {Metric.SAME_LAYER}
    same, _ = per_head_loop(model, batch, targets, ablation, mean)
    if ablation is Ablation.ZERO:
        assert same.abs().max() > 1e-3  # the heads do move the metric: a real comparison
    assert torch.allclose(fast[Metric.SAME_LAYER], same, atol=1e-5)
