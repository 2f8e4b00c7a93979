"""Attribution patching: every head's and neuron's ablation effect from one forward and one
backward pass (a first-order Taylor estimate; Nanda 2023, Syed et al. 2023).

For a metric ``M`` (the final residual at the last prompt token projected on a direction) and a
component with activation ``a`` and ablation baseline ``b``, the effect of replacing ``a`` by
``b`` is estimated as ``(b - a) . dM/da``, summed over positions. The *drop* reported is minus
that. It is exact whenever ``M`` is linear in the component (e.g. a sublayer read directly), and
an approximation through later nonlinearities; tests compare it with exact patching.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor

from circuits.attribution.heads import baseline_for
from circuits.model.backend import Backend, Record, TokenBatch
from circuits.sites import EmbedSite, HeadsSite, NeuronsSite, ReadOut, ResidSite
from circuits.vocab import Ablation


class _Leaf:
    """Makes the embedding a leaf that requires grad, so every later activation has a graph."""

    def __call__(self, act: Tensor) -> Tensor:
        return act.detach().requires_grad_(True)


@dataclass(frozen=True)
class Attribution:
    heads: Float[Tensor, "layer head"]
    neurons: Float[Tensor, "layer d_mlp"]


def attribution_patching(
    model: Backend,
    batch: TokenBatch,
    direction: Float[Tensor, " d_model"],
    ablation: Ablation = Ablation.ZERO,
    mean_z: Tensor | None = None,
    mean_post: Tensor | None = None,
) -> Attribution:
    """Mean estimated drop of ``<resid_final[-1], direction>`` per head and per neuron.

    On a backend whose backward pass through padding is not finite (``padded_backward_ok`` False:
    the bridge, where padding queries attend to nothing and the softmax's backward gives NaN that
    reaches every position), the batch is taken in groups of equal length, without padding;
    with ``resample`` ablation each row is then paired within its group."""
    if not getattr(model, "padded_backward_ok", True) and bool((batch.attention_mask == 0).any()):
        return _by_length(model, batch, direction, ablation, mean_z, mean_post)
    L = model.info.n_layers
    zs = [Record(grad=True) for _ in range(L)]
    posts = [Record(grad=True) for _ in range(L)]
    hooks = [(EmbedSite(), _Leaf())]
    hooks += [(HeadsSite(layer), k) for layer, k in enumerate(zs)]
    if model.has_mlp:
        hooks += [(NeuronsSite(layer), k) for layer, k in enumerate(posts)]
    with torch.enable_grad(), model.hooks(hooks):
        final = model.run_until(ResidSite(L - 1, ReadOut.RESID_POST), batch.attention_mask, tokens=batch.tokens)
        metric = (final[:, -1] @ direction.to(final)).sum()
        metric.backward()
    mask = batch.attention_mask
    B = len(batch)
    heads, neurons = [], []
    for layer in range(L):
        z, gz = zs[layer].value.detach(), zs[layer].value.grad
        base = baseline_for(ablation, z, mask, None if mean_z is None else mean_z[layer]).expand_as(z)
        heads.append(-((base - z) * gz).sum(dim=(1, 3)).sum(0) / B)
        if not model.has_mlp:
            neurons.append(torch.zeros(0))
            continue
        a, ga = posts[layer].value.detach(), posts[layer].value.grad
        if ablation is Ablation.ZERO:
            base_a = torch.zeros_like(a)
        elif ablation is Ablation.MEAN:
            base_a = mean_post[layer].to(a).expand_as(a)
        else:
            base_a = torch.roll(a, 1, dims=0) * mask[:, :, None]
        neurons.append(-((base_a - a) * ga).sum(dim=1).sum(0) / B)
    return Attribution(torch.stack(heads).float().cpu(), torch.stack(neurons).float().cpu())


def _by_length(model: Backend, batch: TokenBatch, direction: Tensor, ablation: Ablation,
               mean_z: Tensor | None, mean_post: Tensor | None) -> Attribution:
    """:func:`attribution_patching` over groups of rows of equal length (no padding), averaged."""
    lengths = batch.attention_mask.sum(dim=1)
    heads = neurons = None
    for n in sorted(set(lengths.tolist())):
        rows = (lengths == n).nonzero().flatten()
        part = TokenBatch(batch.tokens[rows][:, batch.tokens.shape[1] - n:],
                          batch.attention_mask[rows][:, batch.tokens.shape[1] - n:])
        a = attribution_patching(model, part, direction, ablation, mean_z, mean_post)
        w = len(rows) / len(batch)
        heads = a.heads * w if heads is None else heads + a.heads * w
        neurons = a.neurons * w if neurons is None else neurons + a.neurons * w
    return Attribution(heads, neurons)
