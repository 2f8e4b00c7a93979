"""Validation of component rankings: do the top components matter more than random ones?

For k = 1, 2, 4, ... the top-k neurons (or heads) of an emotion are ablated (scale 0) or
enhanced (scale s > 1) at every position, and the change of the final residual's projection on
the emotion's reference direction at the last prompt token is measured on that emotion's
prompts. Controls: k random components drawn from the same layers as the top-k (same layer
profile, excluding the top-k), several draws. A ranking is good when its curve is far steeper
than the random one.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import torch
from jaxtyping import Float
from torch import Tensor

from circuits.controls import random_like, versus_random
from circuits.interventions import intervene, scale_hooks
from circuits.model.backend import Backend, HookFn, TokenBatch
from circuits.nodes import HeadNode, NeuronNode, Node
from circuits.sites import ReadOut, ResidSite, Site
from circuits.vocab import Positions


def powers_of_two(maximum: int) -> list[int]:
    ks, k = [], 1
    while k <= maximum:
        ks.append(k)
        k *= 2
    return ks


@torch.inference_mode()
def final_projection(model: Backend, batches: Sequence[TokenBatch], v: Tensor,
                     hooks: Sequence[tuple[Site, HookFn]] = ()) -> Tensor:
    """``<resid_final[-1], v>`` per prompt, with ``hooks`` attached."""
    site = ResidSite(model.info.n_layers - 1, ReadOut.RESID_POST)
    v = v.to(model.device).float()
    out = []
    with intervene(model, hooks):
        for b in batches:
            out.append(model.run_until(site, b.attention_mask, tokens=b.tokens)[:, -1].float() @ v)
    return torch.cat(out).cpu()


def validation_curves(
    model: Backend,
    batches: Sequence[TokenBatch],
    v_ref: Float[Tensor, " d_model"],
    ranked: Sequence[Node],
    ks: Sequence[int],
    draws: int,
    enhance_scale: float,
    seed: int = 0,
) -> dict:
    """Mean projection change for top-k vs random-k, ablated and enhanced, for each k."""
    n_units = {HeadNode: model.info.n_heads, NeuronNode: model.info.d_mlp}
    rng = random.Random(seed)
    clean = final_projection(model, batches, v_ref)
    out: dict = {"k": [], "clean": float(clean.mean())}
    for mode in ("ablate", "enhance"):
        out[mode] = {"top": [], "random_mean": [], "random_std": []}
    for k in ks:
        if k > len(ranked):
            break
        top = list(ranked[:k])
        out["k"].append(k)
        controls = [random_like(top, n_units, rng, top_up=False) for _ in range(draws)]
        for mode, scale in (("ablate", 0.0), ("enhance", enhance_scale)):
            effect = float((final_projection(model, batches, v_ref, scale_hooks(top, scale, Positions.ALL)) - clean).mean())
            vs = versus_random(effect, [
                float((final_projection(model, batches, v_ref, scale_hooks(c, scale, Positions.ALL)) - clean).mean())
                for c in controls
            ])
            out[mode]["top"].append(effect)
            out[mode]["random_mean"].append(vs["random_mean"])
            out[mode]["random_std"].append(vs["random_std"])
    return out
