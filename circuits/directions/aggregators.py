"""Aggregators: from grouped activations to one unit direction per emotion.

Input: activations ``x[g, e, ..., d]`` of complete groups ``g`` (one skeleton x valence, all
emotions ``e``) at any number of sites. The study's formula (the study's stage 2) is the default::

    mu_g = mean_e x[g, e]                  # removes the scenario/event content
    c_e  = mean_g (x[g, e] - mu_g)
    v_e  = (c_e - mean_e' c_e') / ||c_e - mean_e' c_e'||

Alternatives behind the same interface:

- ``one_vs_rest``: mean of emotion e minus mean of the others, without group centring. On
  complete groups it is exactly proportional to the study's contrast (a property test checks
  it); it differs when groups are unbalanced.
- ``pca``: the first right singular vector of the centred differences ``x[g, e] - mu_g`` of each
  emotion (no re-centring, so the shared offset is the signal), sign-aligned with ``c_e``.
- ``probe``: the weight vector of a multinomial logistic regression trained on the centred
  differences (one global scale, so weights stay directions of activation space), one per emotion.

The study's formula and one-vs-rest only need running sums, so :class:`CenteredSums` computes
them streaming, with memory independent of the dataset size; ``pca`` and ``probe`` need the
samples themselves.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from jaxtyping import Float
from torch import Tensor

from circuits.vocab import Aggregator


def unit(v: Tensor, eps: float = 1e-12) -> Tensor:
    return v / v.norm(dim=-1, keepdim=True).clamp_min(eps)


def centered_contrast(x: Float[Tensor, "group emotion *site d"]) -> Float[Tensor, "emotion *site d"]:
    """The study's unnormalised contrast ``c_e - mean_e' c_e'``."""
    c = (x - x.mean(dim=1, keepdim=True)).mean(dim=0)
    return c - c.mean(dim=0, keepdim=True)


def one_vs_rest(x: Float[Tensor, "group emotion *site d"]) -> Float[Tensor, "emotion *site d"]:
    E = x.shape[1]
    per_emotion = x.mean(dim=0)
    total = per_emotion.sum(dim=0, keepdim=True)
    return per_emotion - (total - per_emotion) / (E - 1)


def pca_directions(x: Float[Tensor, "group emotion *site d"]) -> Float[Tensor, "emotion *site d"]:
    diffs = x - x.mean(dim=1, keepdim=True)
    c = centered_contrast(x)
    flat = diffs.movedim(0, -2)  # [emotion, *site, group, d]
    _, _, vh = torch.linalg.svd(flat.double(), full_matrices=False)
    v = vh[..., 0, :].to(x.dtype)
    sign = torch.sign((v * c).sum(dim=-1, keepdim=True))
    return v * torch.where(sign == 0, torch.ones_like(sign), sign)


def probe_directions(x: Float[Tensor, "group emotion *site d"], C: float = 0.01) -> Float[Tensor, "emotion *site d"]:
    from sklearn.linear_model import LogisticRegression

    G, E = x.shape[:2]
    site_shape = x.shape[2:-1]
    diffs = (x - x.mean(dim=1, keepdim=True)).reshape(G, E, -1, x.shape[-1])
    out = torch.empty(E, diffs.shape[2], x.shape[-1], dtype=x.dtype)
    y = torch.arange(E).repeat(G).numpy()
    for s in range(diffs.shape[2]):
        X = diffs[:, :, s].reshape(G * E, -1).double()
        # One global scale (not per feature), so the weights stay a direction of activation space.
        scale = X.std().clamp_min(1e-8)
        clf = LogisticRegression(C=C, max_iter=3000)
        clf.fit((X / scale).numpy(), y)
        out[:, s] = torch.as_tensor(clf.coef_).to(x.dtype)
    return out.reshape(E, *site_shape, x.shape[-1])


RAW = {
    Aggregator.CENTERED: centered_contrast,
    Aggregator.ONE_VS_REST: one_vs_rest,
    Aggregator.PCA: pca_directions,
    Aggregator.PROBE: probe_directions,
}


def aggregate(kind: Aggregator, x: Float[Tensor, "group emotion *site d"]) -> tuple[Tensor, Tensor]:
    """(unit directions, raw contrast) for an aggregator over full grouped activations."""
    raw = RAW[kind](x)
    return unit(raw), centered_contrast(x) if kind in (Aggregator.PCA, Aggregator.PROBE) else raw


class CenteredSums:
    """Streaming sums for the study's formula over any number of named subsets of groups.

    ``add`` takes a batch of complete groups and, for each group, the subsets it belongs to;
    ``contrast(name)`` returns ``c_e - mean c`` over that subset. Memory: one [emotion, site, d]
    sum per subset.
    """

    def __init__(self) -> None:
        self.sums: dict[str, Tensor] = {}
        self.counts: dict[str, int] = {}

    def add(self, x: Float[Tensor, "group emotion site d"], memberships: Iterable[Iterable[str]]) -> None:
        diffs = x - x.mean(dim=1, keepdim=True)
        for g, names in enumerate(memberships):
            for name in names:
                if name in self.sums:
                    self.sums[name] += diffs[g]
                else:
                    self.sums[name] = diffs[g].clone()
                self.counts[name] = self.counts.get(name, 0) + 1

    def names(self) -> list[str]:
        return list(self.sums)

    def contrast(self, name: str) -> Float[Tensor, "emotion site d"]:
        c = self.sums[name] / self.counts[name]
        return c - c.mean(dim=0, keepdim=True)

    def contrast_excluding(self, total: str, name: str) -> Float[Tensor, "emotion site d"]:
        """The contrast of ``total`` without the groups of ``name`` (leave-one-out)."""
        c = (self.sums[total] - self.sums[name]) / (self.counts[total] - self.counts[name])
        return c - c.mean(dim=0, keepdim=True)
