"""Slow, obviously correct reference implementations, for tests and benchmarks.

:func:`per_head_loop` is the TransformerLens ``patching`` style: one full forward pass per
ablated head with ``run_with_hooks``. The fast scorers in :mod:`circuits.attribution.heads`
must agree with it to 1e-5, and ``make bench`` reports how much faster they are.
"""

from __future__ import annotations

import torch

from circuits.attribution.heads import Ablation, HeadTargets
from circuits.model.backend import HookedModel, TokenBatch
from circuits.sites import HeadsSite, ReadOut, ResidSite


def per_head_loop(
    model: HookedModel,
    batch: TokenBatch,
    targets: HeadTargets,
    ablation: Ablation = Ablation.ZERO,
    mean: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(same-layer drop, final drop) per [layer, head], one ``run_with_hooks`` per head."""
    tl = model.tl
    L, H = model.info.n_layers, model.info.n_heads
    mask = batch.attention_mask

    def run(fwd_hooks):
        store = {}

        def keep(name):
            def fn(act, hook):
                store[name] = act[:, -1].clone()
            return fn

        hooks = list(fwd_hooks) + [(model.after_attention(layer).hook_name(), keep(layer)) for layer in range(L)]
        hooks.append((ResidSite(L - 1, ReadOut.RESID_POST).hook_name(), keep("final")))
        with torch.no_grad():
            tl.run_with_hooks(batch.tokens, attention_mask=mask, fwd_hooks=hooks)
        return store

    clean = run([])
    zs: dict[int, torch.Tensor] = {}

    def grab(layer):
        def fn(act, hook):
            zs[layer] = act.clone()
        return fn

    with torch.no_grad():
        tl.run_with_hooks(batch.tokens, attention_mask=mask,
                          fwd_hooks=[(HeadsSite(layer).hook_name(), grab(layer)) for layer in range(L)])
    same = torch.zeros(L, H)
    final = torch.zeros(L, H)
    for layer in range(L):
        for h in range(H):
            def ablate(act, hook, layer=layer, h=h):
                act = act.clone()
                if ablation is Ablation.ZERO:
                    act[:, :, h] = 0
                elif ablation is Ablation.MEAN:
                    act[:, :, h] = mean[layer, h]
                else:
                    act[:, :, h] = torch.roll(zs[layer], 1, 0)[:, :, h] * mask[:, :, None]
                return act

            out = run([(HeadsSite(layer).hook_name(), ablate)])
            v = targets.same_layer[layer]
            same[layer, h] = (clean[layer] @ v - out[layer] @ v).mean()
            if targets.final is not None:
                final[layer, h] = (clean["final"] @ targets.final - out["final"] @ targets.final).mean()
    return same, final
