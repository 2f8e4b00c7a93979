"""Attention heads, scored causally: what does removing one head's output do to the emotion?

A head's output is its slice of ``attn.hook_z`` (before ``W_O``). Ablating head ``h`` of layer
``l`` replaces that slice, at every position, by a baseline (:class:`Ablation`). Its score is
the *drop* of a projection at the last prompt token (positive: the head carries the emotion):

- ``same_layer`` (the study's): ``<resid_mid_l, v_attn^(l)>``, the same layer's residual after
  attention on that layer's post-attention direction;
- ``final``: ``<resid_post_{L-1}, v_ref>``, the final residual on a reference direction, which
  counts every downstream path.

Two exact scorers and one fast one:

- :func:`exact_head_effects`: real ablations, all heads of a layer in *one* forward pass by
  expanding the batch (copy ``k`` ablates head ``k``), started from the cached residual entering
  the layer and stopped as soon as the metric is read. For the same-layer metric alone, the
  copies run only the last token's attention against a key-value cache of the prompt (nothing
  else can reach the metric), on backends that offer prefix caches. Tested against a per-head
  loop of whole ablated forward passes (:func:`circuits.attribution.slow.per_head_loop`).
- :func:`direct_head_effects`: for the same-layer metric the effect is linear, so it equals
  ``<(z_h - baseline_h) W_O[h], v>`` at the last token, read off one clean forward pass.
- attribution patching (:mod:`circuits.attribution.gradients`): one forward and one backward
  pass for every head and neuron at once, a first-order estimate of the ``final`` metric.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor

from circuits.model.backend import Backend, Record, TokenBatch
from circuits.sites import HeadsSite, ReadOut, ResidSite, Site, entering
from circuits.vocab import Ablation, Metric

log = logging.getLogger(__name__)


class _AblateOneHeadPerCopy:
    """On a batch made of ``n_heads`` copies of ``rows`` prompts, copy ``k`` has head ``k``
    replaced by ``baseline`` (at every position)."""

    def __init__(self, rows: int, baseline: Float[Tensor, "copy_rows pos head d_head"] | Tensor) -> None:
        self.rows, self.baseline = rows, baseline

    def __call__(self, z: Float[Tensor, "batch pos head d_head"]) -> Tensor:
        z = z.clone()
        H = z.shape[2]
        for k in range(H):
            sl = slice(k * self.rows, (k + 1) * self.rows)
            z[sl, :, k] = self.baseline[:, :, k] if self.baseline.ndim == 4 else self.baseline[k]
        return z


@dataclass(frozen=True)
class HeadTargets:
    """The directions each metric projects on: ``same_layer[l]`` is ``v_attn^(l)``."""

    same_layer: Float[Tensor, "layer d_model"]
    final: Float[Tensor, " d_model"] | None = None


def baseline_for(ablation: Ablation, z: Tensor, mask: Tensor, mean_z: Tensor | None) -> Tensor:
    """The replacement for every head's z: [batch pos head d_head] (or [head d_head] for MEAN)."""
    if ablation is Ablation.ZERO:
        return torch.zeros_like(z)
    if ablation is Ablation.MEAN:
        assert mean_z is not None, "mean ablation needs the dataset mean of z"
        return mean_z.to(z)
    return torch.roll(z, shifts=1, dims=0) * mask[:, :, None, None]


@torch.inference_mode()
def dataset_means(model: Backend, batches: Sequence[TokenBatch], sites: Sequence[Site]) -> list[Tensor]:
    """The mean activation at each site over the real tokens of ``batches`` (e.g. [head d_head]
    for ``HeadsSite``, [d_mlp] for ``NeuronsSite``): the baseline of mean ablation."""
    caps = [Record() for _ in sites]
    sums: list[Tensor | None] = [None] * len(sites)
    count = 0
    deepest = max(s.layer for s in sites)
    with model.hooks(list(zip(sites, caps))):
        for b in batches:
            model.run_until(sites[[s.layer for s in sites].index(deepest)], b.attention_mask, tokens=b.tokens)
            m = b.attention_mask.float()
            for i, c in enumerate(caps):
                v = c.value.float()
                part = (v * m.reshape(*m.shape, *([1] * (v.ndim - 2)))).sum(dim=(0, 1))
                sums[i] = part if sums[i] is None else sums[i] + part
            count += int(b.attention_mask.sum())
    return [s / count for s in sums]


def mean_z(model: Backend, batches: Sequence[TokenBatch]) -> Float[Tensor, "layer head d_head"]:
    """The dataset mean of every head's z over real tokens."""
    return torch.stack(dataset_means(model, batches, [HeadsSite(layer) for layer in range(model.info.n_layers)]))


@torch.inference_mode()
def exact_head_effects(
    model: Backend,
    batch: TokenBatch,
    targets: HeadTargets,
    ablation: Ablation = Ablation.ZERO,
    mean: Tensor | None = None,
    metrics: Sequence[Metric] = (Metric.SAME_LAYER,),
) -> dict[Metric, Float[Tensor, "layer head"]]:
    """Mean drop of each metric when each head is ablated, by real ablated forward passes.

    One clean pass caches the residual entering every layer; then, per layer, one pass over
    ``n_heads`` copies of the batch (copy k ablates head k) runs from that layer until the
    metric is read: the layer's own attention for ``same_layer``, the last block for ``final``.
    """
    if Metric.FINAL not in metrics and batch.tokens.shape[1] > 1:
        if model.supports_prefix_cache:
            return {Metric.SAME_LAYER: _same_layer_from_last_query(model, batch, targets, ablation, mean)}
        _warn_no_prefix_cache(model)
    L, H = model.info.n_layers, model.info.n_heads
    B = len(batch)
    mask = batch.attention_mask
    pre, zs, mids, hooks = _clean_captures(model)
    with model.hooks(hooks):
        final_clean = model.run_until(ResidSite(L - 1, ReadOut.RESID_POST), mask, tokens=batch.tokens)[:, -1]
    out = {m: torch.zeros(L, H) for m in metrics}
    big_mask = mask.repeat(H, 1)
    for layer in range(L):
        base = baseline_for(ablation, zs[layer].value, mask, None if mean is None else mean[layer])
        ablate = _AblateOneHeadPerCopy(B, base)
        resid = pre[layer].value.repeat(H, 1, 1)
        mid = Record(last=True)
        with model.hooks([(HeadsSite(layer), ablate), (model.after_attention(layer), mid)]):
            stop = ResidSite(L - 1, ReadOut.RESID_POST) if Metric.FINAL in metrics else model.after_attention(layer)
            final = model.run_until(stop, big_mask, resid=resid, start_layer=layer)[:, -1]
        if Metric.SAME_LAYER in metrics:
            v = targets.same_layer[layer].to(mid.value)
            clean = mids[layer].value @ v
            ablated = (mid.value @ v).reshape(H, B)
            out[Metric.SAME_LAYER][layer] = (clean[None] - ablated).mean(dim=1).float()
        if Metric.FINAL in metrics:
            v = targets.final.to(final)
            out[Metric.FINAL][layer] = ((final_clean @ v)[None] - (final @ v).reshape(H, B)).mean(dim=1).float()
    return out


@torch.inference_mode()
def _same_layer_from_last_query(
    model: Backend,
    batch: TokenBatch,
    targets: HeadTargets,
    ablation: Ablation,
    mean: Tensor | None,
) -> Float[Tensor, "layer head"]:
    """The same-layer metric by real ablated passes that compute only what the metric reads.

    ``resid_mid_l`` at the last token depends on the layer's heads only through their ``z`` at
    the last token (keys, values and the pattern come from the residual *entering* the layer,
    which an ablation at layer ``l`` does not touch). So: one pass over the prompts without their
    last token fills a key-value cache; one pass over the last token reads it (the clean
    values); then, per layer, the ``n_heads`` ablated copies run that layer's attention for the
    last token only, against the cached keys and values. Ablating z at earlier positions too,
    as :func:`per_head_loop <circuits.attribution.slow.per_head_loop>` does, cannot change
    the metric, and the test suite checks the two agree.
    """
    L, H = model.info.n_layers, model.info.n_heads
    B = len(batch)
    prefix_mask, last_mask = batch.attention_mask[:, :-1], batch.attention_mask[:, -1:]
    cache = model.prefix_cache(batch.tokens[:, :-1], prefix_mask)
    pre, zs, mids, hooks = _clean_captures(model)
    with model.hooks(hooks):
        model.run_until(model.after_attention(L - 1), last_mask, tokens=batch.tokens[:, -1:], kv_cache=cache)
    out = torch.zeros(L, H)
    big_last_mask = last_mask.repeat(H, 1)
    for layer in range(L):
        base = baseline_for(ablation, zs[layer].value, last_mask, None if mean is None else mean[layer])
        copies = model.repeat_cache(cache, H, layers=[layer])
        with model.hooks([(HeadsSite(layer), _AblateOneHeadPerCopy(B, base))]):
            mid = model.run_until(model.after_attention(layer), big_last_mask,
                                  resid=pre[layer].value.repeat(H, 1, 1), start_layer=layer, kv_cache=copies)
        v = targets.same_layer[layer].to(mid)
        clean = mids[layer].value @ v
        ablated = (mid[:, -1] @ v).reshape(H, B)
        out[layer] = (clean[None] - ablated).mean(dim=1).float()
    return out


@torch.inference_mode()
def direct_head_effects(
    model: Backend,
    batch: TokenBatch,
    targets: HeadTargets,
    ablation: Ablation = Ablation.ZERO,
    mean: Tensor | None = None,
) -> Float[Tensor, "layer head"]:
    """The same-layer metric's drop, computed from one clean pass: ``<(z - base)[-1] W_O, v>``."""
    L = model.info.n_layers
    zs = [Record() for _ in range(L)]
    with model.hooks([(HeadsSite(layer), c) for layer, c in enumerate(zs)]):
        model.run_until(HeadsSite(L - 1), batch.attention_mask, tokens=batch.tokens)
    out = []
    for layer in range(L):
        z = zs[layer].value
        base = baseline_for(ablation, z, batch.attention_mask, None if mean is None else mean[layer])
        delta = (z - base.expand_as(z))[:, -1]  # [batch head d_head]
        W_O = model.attn_out_weight(HeadsSite(layer))  # [head d_head d_model]
        wv = W_O @ targets.same_layer[layer].to(W_O)  # [head d_head]
        out.append((delta * wv[None]).sum(-1).mean(0).float())
    return torch.stack(out).cpu()


def _clean_captures(model: Backend):
    """Per layer: the residual entering it, every head's z, and the residual after its attention
    (last token); and the hooks that fill them during one clean pass."""
    L = model.info.n_layers
    pre = [Record() for _ in range(L)]
    zs = [Record() for _ in range(L)]
    mids = [Record(last=True) for _ in range(L)]
    hooks = [(model.after_attention(layer), c) for layer, c in enumerate(mids)]
    hooks += [(HeadsSite(layer), c) for layer, c in enumerate(zs)]
    hooks += [(entering(layer), c) for layer, c in enumerate(pre)]
    return pre, zs, mids, hooks


def _warn_no_prefix_cache(model: Backend) -> None:
    _log_once(f"{model.name} has no prefix cache: the same-layer head sweep runs whole ablated passes instead")


@functools.cache
def _log_once(message: str) -> None:
    log.info(message)
