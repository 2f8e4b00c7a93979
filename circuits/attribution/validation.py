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
from collections import Counter
from collections.abc import Sequence

import torch
from jaxtyping import Float
from torch import Tensor

from circuits.circuit.nodes import HeadNode, NeuronNode, Node, scale_hooks
from circuits.interventions import Positions, intervene
from circuits.model.backend import HookedModel, TokenBatch
from circuits.sites import ReadOut, ResidSite


def powers_of_two(maximum: int) -> list[int]:
    ks, k = [], 1
    while k <= maximum:
        ks.append(k)
        k *= 2
    return ks


@torch.inference_mode()
def final_projection(model: HookedModel, batches: Sequence[TokenBatch], v: Tensor, hooks: Sequence = ()) -> Tensor:
    """``<resid_final[-1], v>`` per prompt, with ``hooks`` attached."""
    site = ResidSite(model.info.n_layers - 1, ReadOut.RESID_POST)
    v = v.to(model.device).float()
    out = []
    with intervene(model, hooks):
        for b in batches:
            out.append(model.run_until(site, b.attention_mask, tokens=b.tokens)[:, -1].float() @ v)
    return torch.cat(out).cpu()


def random_like(top: Sequence[Node], layer_sizes: dict[int, int], rng: random.Random) -> list[Node]:
    """Random nodes of the same kind with the same number per layer as ``top``, none in ``top``."""
    taken = set(top)
    kind = type(top[0])
    out: list[Node] = []
    for layer, n in sorted(Counter(node.layer for node in top).items()):
        pool = [kind(layer, i) for i in range(layer_sizes[layer]) if kind(layer, i) not in taken]
        out += rng.sample(pool, min(n, len(pool)))
    return out


def validation_curves(
    model: HookedModel,
    batches: Sequence[TokenBatch],
    v_ref: Float[Tensor, " d_model"],
    ranked: Sequence[Node],
    ks: Sequence[int],
    draws: int,
    enhance_scale: float,
    seed: int = 0,
) -> dict:
    """Mean projection change for top-k vs random-k, ablated and enhanced, for each k."""
    kind = type(ranked[0])
    size = model.info.n_heads if kind is HeadNode else model.info.d_mlp
    layer_sizes = {layer: size for layer in range(model.info.n_layers)}
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
        controls = [random_like(top, layer_sizes, rng) for _ in range(draws)]
        for mode, scale in (("ablate", 0.0), ("enhance", enhance_scale)):
            effect = float((final_projection(model, batches, v_ref, scale_hooks(top, scale, Positions.ALL)) - clean).mean())
            rand = torch.tensor([
                float((final_projection(model, batches, v_ref, scale_hooks(c, scale, Positions.ALL)) - clean).mean())
                for c in controls
            ])
            out[mode]["top"].append(effect)
            out[mode]["random_mean"].append(float(rand.mean()))
            out[mode]["random_std"].append(float(rand.std()) if len(rand) > 1 else 0.0)
    return out


def ranked_neurons(scores: Float[Tensor, "layer d_mlp"]) -> list[NeuronNode]:
    D = scores.shape[1]
    return [NeuronNode(int(i) // D, int(i) % D) for i in scores.flatten().argsort(descending=True)]


def ranked_heads(scores: Float[Tensor, "layer head"]) -> list[HeadNode]:
    H = scores.shape[1]
    return [HeadNode(int(i) // H, int(i) % H) for i in scores.flatten().argsort(descending=True)]
