"""Reading activations: what a model computes at chosen sites, without a full activation cache.

- :func:`read_last_token`: the last prompt token of many prompts, streamed over batches (memory
  grows with the batch, not with the dataset);
- :func:`attention_patterns`, :func:`projections`, :func:`neuron_activations`: every position
  of a few texts, what the views of :mod:`circuits.viz.views` show.

Only the requested sites are hooked (:class:`~circuits.model.backend.Record`), and a forward pass
stops after the deepest layer it needs.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from jaxtyping import Float
from torch import Tensor
from tqdm.auto import tqdm

from circuits.directions.emotion_directions import EmotionDirections
from circuits.model.backend import Backend, Record, length_batches, stop_layer
from circuits.nodes import HeadNode, NeuronNode
from circuits.sites import NeuronsSite, PatternSite, ResidSite, Site


@torch.inference_mode()
def read_last_token(
    model: Backend,
    prompts: Sequence[str],
    sites: Sequence[Site],
    batch_size: int = 64,
    progress: bool = False,
    desc: str = "reading activations",
) -> dict[Site, Float[Tensor, "prompt ..."]]:
    """Activations at the last prompt token of every prompt, for every site, in prompt order.

    Returns float32 tensors of shape [n_prompts, *site_shape] (e.g. [n, d_model] for a residual
    site, [n, head, d_head] for heads, [n, d_mlp] for neurons).
    """
    ids = [model.token_ids(p) for p in prompts]
    batches = length_batches(ids, batch_size)
    recorders = {site: Record(last=True, dtype=torch.float32, append=True) for site in sites}
    stop = stop_layer(sites)
    with model.hooks(list(recorders.items())):
        for chunk in tqdm(batches, desc=desc, disable=not progress, leave=False):
            batch = model.pad([ids[i] for i in chunk])
            model.forward(batch.tokens, batch.attention_mask, stop_at_layer=stop)
    order = [i for chunk in batches for i in chunk]
    inverse = torch.empty(len(order), dtype=torch.long)
    inverse[torch.tensor(order)] = torch.arange(len(order))
    return {site: torch.cat(rec.values)[inverse] for site, rec in recorders.items()}


@torch.inference_mode()
def attention_patterns(model: Backend, heads: Sequence[HeadNode], text: str) -> Float[Tensor, "head dest src"]:
    """Attention patterns of ``heads`` on ``text``, in the order given."""
    sites = {layer: PatternSite(layer) for layer in sorted({h.layer for h in heads})}
    keep = {layer: Record(dtype=torch.float32, cpu=True) for layer in sites}
    batch = model.encode([text])
    with model.hooks([(sites[layer], k) for layer, k in keep.items()]):
        model.forward(batch.tokens, batch.attention_mask, stop_at_layer=stop_layer(sites.values()))
    return torch.stack([keep[h.layer].value[0, h.head] for h in heads])


@torch.inference_mode()
def projections(
    model: Backend, directions: EmotionDirections, text: str, site: ResidSite
) -> Float[Tensor, "pos emotion"]:
    """Each token's residual at ``site`` projected on every emotion's unit direction there, in
    units of the read-out's RMS (the directions' sigma), so layers are comparable."""
    batch = model.encode([text])
    resid = model.run_until(site, batch.attention_mask, tokens=batch.tokens)[0].float()
    return (resid @ directions.at(site).to(resid).T / directions.sigma(site)).cpu()


@torch.inference_mode()
def neuron_activations(
    model: Backend, neurons: Sequence[NeuronNode], texts: Sequence[str], batch_size: int = 32
) -> list[Float[Tensor, "pos neuron"]]:
    """Activations of ``neurons`` at every token of every text (padding dropped), per text."""
    sites = {layer: NeuronsSite(layer) for layer in sorted({n.layer for n in neurons})}
    out: list[Tensor] = []
    for start in range(0, len(texts), batch_size):
        batch = model.encode(texts[start : start + batch_size])
        keep = {layer: Record(dtype=torch.float32, cpu=True) for layer in sites}
        with model.hooks([(sites[layer], k) for layer, k in keep.items()]):
            model.forward(batch.tokens, batch.attention_mask, stop_at_layer=stop_layer(sites.values()))
        acts = torch.stack([keep[n.layer].value[:, :, n.neuron] for n in neurons], dim=-1)
        for row, length in zip(acts, batch.lengths.tolist()):
            out.append(row[row.shape[0] - length :])
    return out
