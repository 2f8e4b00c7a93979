"""Sublayer importance (the study's stage 4): which attention and MLP sublayers drive the
model's final emotion representation?

Two measures, both read on the final residual at the last prompt token, projected on the
emotion's reference direction ``v_ref`` (:mod:`circuits.directions.reference`):

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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor

from circuits.data.prompts import Prompt
from circuits.directions.emotion_directions import EmotionDirections
from circuits.directions.reference import Reference
from circuits.model.backend import Backend, KVCache, Record, TokenBatch
from circuits.sites import ReadOut, ResidSite, Sublayer, SublayerSite, entering, resid_sites
from circuits.vocab import Importance


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


def _clean_pass(model: Backend, batch: TokenBatch, last_sublayers: bool = False, kv_cache: KVCache | None = None):
    L = model.info.n_layers
    pre = [Record() for _ in range(L)]
    hooks = [(entering(layer), c) for layer, c in enumerate(pre)]
    outs = {}
    if last_sublayers:
        for layer in range(L):
            for sub in Sublayer:
                outs[(layer, sub)] = Record(last=True)
                hooks.append((SublayerSite(layer, sub), outs[(layer, sub)]))
    final_site = ResidSite(L - 1, ReadOut.RESID_POST)
    with model.hooks(hooks):
        final = model.run_until(final_site, batch.attention_mask, tokens=batch.tokens, kv_cache=kv_cache)[:, -1]
    return pre, final, outs


class _Passes:
    """The clean pass over a batch and the passes that start at a layer with something changed at
    the last token only.

    A change at the last token of a left-padded batch cannot reach the earlier positions (the
    attention is causal), so on backends with prefix caches the keys and values of every
    position but the last are computed once and each changed pass runs the last token alone
    against them: a pass costs one position instead of the whole prompt (the prompt is ~100
    tokens on a chat model). Elsewhere every pass runs the whole batch. The tests check both
    against full forward passes with hooks.
    """

    def __init__(self, model: Backend, batch: TokenBatch) -> None:
        self.model, self.cache = model, None
        if model.supports_prefix_cache and batch.tokens.shape[1] > 1:
            self.cache = model.prefix_cache(batch.tokens[:, :-1], batch.attention_mask[:, :-1])
            batch = TokenBatch(batch.tokens[:, -1:], batch.attention_mask[:, -1:])
        self.mask = batch.attention_mask
        self.pre, self.final, _ = _clean_pass(model, batch, kv_cache=self.cache)

    def final_from(self, layer: int, copies: int = 1) -> Tensor:
        """The final residual at the last token of ``copies`` stacked copies of the batch, run from
        the clean residual entering ``layer`` (hooks attached around this call apply)."""
        L = self.model.info.n_layers
        cache = self.cache  # frozen: one copy of the batch reads it as it is
        if cache is not None and copies > 1:
            cache = self.model.repeat_cache(cache, copies, layers=range(layer, L))
        return self.model.run_until(ResidSite(L - 1, ReadOut.RESID_POST), self.mask.repeat(copies, 1),
                                    resid=self.pre[layer].value.repeat(copies, 1, 1), start_layer=layer,
                                    kv_cache=cache)[:, -1]


@torch.inference_mode()
def injection_importance(
    model: Backend,
    batch: TokenBatch,
    directions: Float[Tensor, "site d_model"],
    v_ref: Float[Tensor, " d_model"],
    sigma: Float[Tensor, " site"],
    alphas: Sequence[float],
) -> Float[Tensor, "alpha site"]:
    """Mean ``Delta <h_final, v_ref> / (alpha sigma)`` per alpha and sublayer (site order L0.attn, L0.mlp, ...)."""
    L = model.info.n_layers
    A, B = len(alphas), len(batch)
    passes = _Passes(model, batch)
    v_ref, directions, sigma = v_ref.to(model.device), directions.to(model.device), sigma.to(model.device)
    p0 = passes.final.float() @ v_ref.float()
    out = torch.zeros(A, 2 * L)
    scales = torch.tensor(alphas, dtype=torch.float32, device=model.device)
    for layer in range(L):
        for sub in Sublayer:
            i = SublayerSite(layer, sub).readout.index
            add = (scales[:, None] * sigma[i] * directions[i].float()[None]).repeat_interleave(B, dim=0)
            hook = _AddAtLastPerCopy(B, add=add)
            with model.hooks([(SublayerSite(layer, sub), hook)]):
                final = passes.final_from(layer, A)
            delta = (final.float() @ v_ref.float()).reshape(A, B) - p0[None]
            out[:, i] = delta.mean(dim=1) / (scales * sigma[i])
    return out


@torch.inference_mode()
def patching_importance(
    model: Backend,
    neutral: TokenBatch,
    emotional: TokenBatch,
    v_ref: Float[Tensor, " d_model"],
) -> Float[Tensor, " site"]:
    """Mean change of ``<h_final, v_ref>`` when one sublayer's last-token output in the neutral
    prompt is replaced by its value in the paired emotion prompt (rows of the two batches pair up)."""
    L = model.info.n_layers
    passes = _Passes(model, neutral)
    _, _, outs = _clean_pass(model, emotional, last_sublayers=True)
    v_ref = v_ref.to(model.device)
    p0 = passes.final.float() @ v_ref.float()
    out = torch.zeros(2 * L)
    for layer in range(L):
        for sub in Sublayer:
            i = SublayerSite(layer, sub).readout.index
            hook = _AddAtLastPerCopy(len(neutral), replace=outs[(layer, sub)].value)
            with model.hooks([(SublayerSite(layer, sub), hook)]):
                final = passes.final_from(layer)
            out[i] = ((final.float() @ v_ref.float()) - p0).mean()
    return out


@torch.inference_mode()
def readout_rms(model: Backend, batches: Sequence[TokenBatch]) -> Float[Tensor, " site"]:
    """sigma: mean RMS norm of every read-out at the last token over the prompts."""
    sites = resid_sites(model.info.n_layers)
    caps = [Record(last=True) for _ in sites]
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

    def of(self, emotion: str, sublayer: Sublayer, kind: Importance = Importance.INJECTION) -> Float[Tensor, " layer"]:
        x = getattr(self, kind.value)[self.emotions.index(emotion)]
        return x[0::2] if sublayer is Sublayer.ATTN else x[1::2]


Pairs = Mapping[str, Sequence[tuple[TokenBatch, TokenBatch]]]
"""Per emotion: batches of (neutral prompts, emotion prompts) of the same groups, row by row."""


def paired_batches(model: Backend, neutral: Sequence[Prompt], prompts: Sequence[Prompt], batch_size: int = 64) -> dict[str, list[tuple[TokenBatch, TokenBatch]]]:
    """Each emotion's prompts beside the neutral prompt of the same (skeleton, valence) group,
    in the order given, tokenized in batches of ``batch_size``: what the importance measures read."""
    by_group = {p.group: p for p in neutral}
    by_emotion: dict[str, list[Prompt]] = {}
    for p in prompts:
        by_emotion.setdefault(p.emotion, []).append(p)
    out = {}
    for emotion, mine in by_emotion.items():
        n_texts = [by_group[p.group].text for p in mine]
        e_texts = [p.text for p in mine]
        out[emotion] = [(model.encode(n_texts[i : i + batch_size]), model.encode(e_texts[i : i + batch_size]))
                        for i in range(0, len(mine), batch_size)]
    return out


def sublayer_importance(
    model: Backend,
    pairs: Pairs,
    directions: EmotionDirections,
    reference: Reference,
    alphas: Sequence[float] = (0.1, 0.3, 0.5, 0.7),
) -> SublayerImportance:
    """Injection (averaged over ``alphas``) and patching importance of every sublayer for each
    emotion of ``pairs`` (:func:`paired_batches`), batch results weighted by batch size; sigma is
    the read-outs' RMS over the first emotion's share of the neutral batches."""
    all_neutral = [n for batches in pairs.values() for n, _ in batches]
    sigma = readout_rms(model, all_neutral[: max(1, len(all_neutral) // len(pairs))])
    inj, per_alpha, patch = [], [], []
    for emotion, batches in pairs.items():
        e = directions.emotions.index(emotion)
        v_ref = reference.vector(directions, emotion)
        w = [len(n) for n, _ in batches]
        pa = sum(wi * injection_importance(model, n, directions.vectors[e], v_ref, sigma, alphas)
                 for wi, (n, _) in zip(w, batches)) / sum(w)
        pt = sum(wi * patching_importance(model, n, em, v_ref) for wi, (n, em) in zip(w, batches)) / sum(w)
        per_alpha.append(pa)
        inj.append(pa.mean(dim=0))
        patch.append(pt)
    return SublayerImportance(torch.stack(inj), torch.stack(per_alpha), torch.stack(patch), sigma,
                              tuple(alphas), tuple(pairs))
