"""Evidence that the directions are context-agnostic (the study's stage 2, where the study left the test open).

All cosines are between unit directions of the same emotion and read-out, estimated on
disjoint data:

- ``split_half``: two random halves of the skeletons;
- ``leave_one_theme_out``: one theme's groups vs all other themes' (mean and min over themes);
- ``valence``: directions from positive, neutral and negative events only (mean of the three
  pairwise cosines);

plus the 2L x 2L cross-sublayer cosine matrix per emotion, the emotion x emotion cosine matrix
per read-out, layer-wise probe accuracy (grouped by skeleton), and how closely the other
aggregators agree with the study's formula.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import torch
from jaxtyping import Float
from torch import Tensor

from circuits.directions.aggregators import aggregate, unit
from circuits.directions.extract import Extraction
from circuits.directions.probes import probe_accuracy
from circuits.emotions import VALENCES
from circuits.vocab import Aggregator


def _cos(a: Tensor, b: Tensor) -> Tensor:
    return (unit(a) * unit(b)).sum(dim=-1)


@dataclass(frozen=True, eq=False)
class Evidence:
    split_half: Float[Tensor, "emotion site"]
    loto_mean: Float[Tensor, "emotion site"]
    loto_min: Float[Tensor, "emotion site"]
    valence: Float[Tensor, "emotion site"]
    cross_sublayer: Float[Tensor, "emotion site site"]
    emotion_cosines: Float[Tensor, "site emotion emotion"]
    probe: dict[str, float]
    aggregator_agreement: dict[str, list[float]]
    """Mean cosine (over emotions) with the study's direction, per read-out, per aggregator."""


def consistency(ex: Extraction) -> dict[str, Tensor]:
    s = ex.sums
    out = {"split_half": _cos(s.contrast("half0"), s.contrast("half1"))}
    loto = torch.stack([_cos(s.contrast(f"theme:{t}"), s.contrast_excluding("all", f"theme:{t}")) for t in ex.themes])
    out["loto_mean"], out["loto_min"] = loto.mean(dim=0), loto.min(dim=0).values
    present = [v for v in VALENCES if f"valence:{v}" in s.sums]
    pairs = [_cos(s.contrast(f"valence:{a}"), s.contrast(f"valence:{b}")) for a, b in itertools.combinations(present, 2)]
    out["valence"] = torch.stack(pairs).mean(dim=0) if pairs else torch.full_like(out["split_half"], float("nan"))
    return out


def probe_by_site(ex: Extraction, folds: int = 5) -> dict[str, float]:
    """Held-out accuracy of a linear probe for the instructed emotion, per read-out."""
    x = ex.samples
    G, E = x.shape[:2]
    labels = np.tile(np.arange(E), G)
    groups = np.repeat([g[0] for g in ex.groups], E)
    return {
        str(site): round(probe_accuracy(x[:, :, site.index].reshape(G * E, -1).numpy(), labels, groups, folds), 4)
        for site in ex.directions.sites
    }


def aggregator_agreement(ex: Extraction, kinds: tuple[Aggregator, ...]) -> dict[str, list[float]]:
    ref = ex.directions.vectors
    out = {}
    for kind in kinds:
        vec, _ = aggregate(kind, ex.samples)
        out[kind.value] = [round(float(x), 4) for x in _cos(vec, ref).mean(dim=0)]
    return out


def evidence(ex: Extraction, probes: bool = True, aggregators: tuple[Aggregator, ...] = ()) -> Evidence:
    d = ex.directions
    cons = consistency(ex)
    v = d.vectors
    return Evidence(
        split_half=cons["split_half"],
        loto_mean=cons["loto_mean"],
        loto_min=cons["loto_min"],
        valence=cons["valence"],
        cross_sublayer=torch.einsum("esd,etd->est", v, v),
        emotion_cosines=torch.einsum("esd,fsd->sef", v, v),
        probe=probe_by_site(ex) if probes and ex.samples is not None else {},
        aggregator_agreement=aggregator_agreement(ex, aggregators) if ex.samples is not None else {},
    )
