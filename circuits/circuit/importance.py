"""Sublayer importance (method.md, stage 4): which attention and MLP sublayers drive the
model's final emotion representation?

Two measures, both read on the final residual at the last prompt token, projected on the
emotion's reference direction ``v_ref`` (:mod:`circuits.circuit.reference`):

- **injection** (the study's): with the *neutral* prompt, add ``alpha * sigma * v`` to one
  sublayer's output at the last token (``v`` the emotion's direction at that sublayer's
  read-out, ``sigma`` the read-out's mean RMS) and measure
  ``I = (<h_final, v_ref> - <h_final, v_ref>_clean) / (alpha * sigma)``, averaged over an alpha
  grid. All alphas of one sublayer run in one forward pass (the batch is expanded per alpha)
  started from the cached residual entering the layer.
- **patching** (an alternative): in the neutral prompt, replace one sublayer's output at the
  last token by its value in the emotion prompt of the same (skeleton, valence) group, and
  measure the change of the same projection.

The two should agree in rank where the measure is meaningful; the stage reports Spearman.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor

from circuits.model.backend import HookedModel, TokenBatch
from circuits.sites import EmbedSite, ReadOut, ResidSite, Sublayer, SublayerSite


class _Capture:
    def __init__(self, last_only: bool) -> None:
        self.last_only, self.value = last_only, None

    def __call__(self, act: Tensor) -> None:
        self.value = (act[:, -1] if self.last_only else act).detach()


class _AddAtLastPerCopy:
    """Copy ``k`` of a batch of ``copies`` x ``rows`` gets ``scales[k] * vec`` (or ``vecs[k]``
    replacing the value) at its last position."""

    def __init__(self, rows: int, add: Tensor | None = None, replace: Tensor | None = None) -> None:
        self.rows, self.add, self.replace = rows, add, replace

    def __call__(self, act: Tensor) -> Tensor:
        act = act.clone()
        if self.add is not None:
            act[:, -1] += self.add.to(act)  # [copies*rows, d]
        else:
            act[:, -1] = self.replace.to(act)
        return act


def _entering(layer: int):
    return EmbedSite() if layer == 0 else ResidSite(layer - 1, ReadOut.RESID_POST)


def _clean_pass(model: HookedModel, batch: TokenBatch, last_sublayers: bool = False):
    L = model.info.n_layers
    pre = [_Capture(last_only=False) for _ in range(L)]
    hooks = [(_entering(layer), c) for layer, c in enumerate(pre)]
    outs = {}
    if last_sublayers:
        for layer in range(L):
            for sub in Sublayer:
                outs[(layer, sub)] = _Capture(last_only=True)
                hooks.append((SublayerSite(layer, sub), outs[(layer, sub)]))
    final_site = ResidSite(L - 1, ReadOut.RESID_POST)
    with model.hooks(hooks):
        final = model.run_until(final_site, batch.attention_mask, tokens=batch.tokens)[:, -1]
    return pre, final, outs


@torch.inference_mode()
def injection_importance(
    model: HookedModel,
    batch: TokenBatch,
    directions: Float[Tensor, "site d_model"],
    v_ref: Float[Tensor, " d_model"],
    sigma: Float[Tensor, " site"],
    alphas: Sequence[float],
) -> Float[Tensor, "alpha site"]:
    """Mean ``Delta <h_final, v_ref> / (alpha sigma)`` per alpha and sublayer (site order L0.attn, L0.mlp, ...)."""
    L = model.info.n_layers
    A, B = len(alphas), len(batch)
    pre, final_clean, _ = _clean_pass(model, batch)
    v_ref, directions, sigma = v_ref.to(model.device), directions.to(model.device), sigma.to(model.device)
    p0 = final_clean.float() @ v_ref.float()
    out = torch.zeros(A, 2 * L)
    scales = torch.tensor(alphas, dtype=torch.float32, device=model.device)
    mask = batch.attention_mask.repeat(A, 1)
    final_site = ResidSite(L - 1, ReadOut.RESID_POST)
    for layer in range(L):
        for sub in Sublayer:
            i = SublayerSite(layer, sub).readout.index
            add = (scales[:, None] * sigma[i] * directions[i].float()[None]).repeat_interleave(B, dim=0)
            hook = _AddAtLastPerCopy(B, add=add)
            with model.hooks([(SublayerSite(layer, sub), hook)]):
                final = model.run_until(final_site, mask, resid=pre[layer].value.repeat(A, 1, 1), start_layer=layer)[:, -1]
            delta = (final.float() @ v_ref.float()).reshape(A, B) - p0[None]
            out[:, i] = delta.mean(dim=1) / (scales * sigma[i])
    return out


@torch.inference_mode()
def patching_importance(
    model: HookedModel,
    neutral: TokenBatch,
    emotional: TokenBatch,
    v_ref: Float[Tensor, " d_model"],
) -> Float[Tensor, " site"]:
    """Mean change of ``<h_final, v_ref>`` when one sublayer's last-token output in the neutral
    prompt is replaced by its value in the paired emotion prompt (rows of the two batches pair up)."""
    L = model.info.n_layers
    pre, final_clean, _ = _clean_pass(model, neutral)
    _, _, outs = _clean_pass(model, emotional, last_sublayers=True)
    v_ref = v_ref.to(model.device)
    p0 = final_clean.float() @ v_ref.float()
    out = torch.zeros(2 * L)
    final_site = ResidSite(L - 1, ReadOut.RESID_POST)
    for layer in range(L):
        for sub in Sublayer:
            i = SublayerSite(layer, sub).readout.index
            hook = _AddAtLastPerCopy(len(neutral), replace=outs[(layer, sub)].value)
            with model.hooks([(SublayerSite(layer, sub), hook)]):
                final = model.run_until(final_site, neutral.attention_mask, resid=pre[layer].value, start_layer=layer)[:, -1]
            out[i] = ((final.float() @ v_ref.float()) - p0).mean()
    return out


@torch.inference_mode()
def readout_rms(model: HookedModel, batches: Sequence[TokenBatch]) -> Float[Tensor, " site"]:
    """sigma: mean RMS norm of every read-out at the last token over the prompts."""
    from circuits.sites import resid_sites

    sites = resid_sites(model.info.n_layers)
    caps = [_Capture(last_only=True) for _ in sites]
    total = torch.zeros(len(sites), device=model.device)
    n = 0
    with model.hooks(list(zip(sites, caps))):
        for b in batches:
            model.run_until(sites[-1], b.attention_mask, tokens=b.tokens)
            for i, c in enumerate(caps):
                total[i] += c.value.float().pow(2).mean(-1).sqrt().sum()
            n += len(b)
    return (total / n).cpu()


@dataclass(frozen=True, eq=False)
class SublayerImportance:
    """Importance per emotion and sublayer (site order L0.attn, L0.mlp, L1.attn, ...)."""

    injection: Float[Tensor, "emotion site"]
    injection_per_alpha: Float[Tensor, "emotion alpha site"]
    patching: Float[Tensor, "emotion site"]
    sigma: Float[Tensor, " site"]
    alphas: tuple[float, ...]
    emotions: tuple[str, ...]

    def of(self, emotion: str, sublayer: Sublayer, kind: str = "injection") -> Float[Tensor, " layer"]:
        x = getattr(self, kind)[self.emotions.index(emotion)]
        return x[0::2] if sublayer is Sublayer.ATTN else x[1::2]
