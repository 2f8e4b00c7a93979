"""Extracting emotion directions from a model, streamed over batches of complete groups.

Prompts are read group by group (one skeleton x valence, all emotions, in the study's emotion
order) at the last prompt token, at every residual read-out. Each batch is folded into running
sums (:class:`~circuits.directions.aggregators.CenteredSums`) for the whole set and for the
subsets the consistency evidence needs (skeleton halves, themes, valences), so memory does not
grow with the dataset. Per-sample activations are kept only where a method needs samples: the
probe read-outs and the non-streaming aggregators.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor
from tqdm.auto import tqdm

from circuits.data.prompts import Prompt
from circuits.directions.aggregators import CenteredSums, aggregate, one_vs_rest, unit
from circuits.directions.emotion_directions import EmotionDirections
from circuits.model.backend import Backend, Record, stop_layer
from circuits.sites import ResidSite, Site, resid_sites
from circuits.vocab import Aggregator


def group_prompts(prompts: Sequence[Prompt], emotions: Sequence[str]) -> list[list[Prompt]]:
    """Prompts arranged as complete groups, each in the given emotion order."""
    by_group: dict[tuple[str, str], dict[str, Prompt]] = {}
    for p in prompts:
        by_group.setdefault(p.group, {})[p.emotion] = p
    return [[g[e] for e in emotions] for g in by_group.values() if all(e in g for e in emotions)]


@torch.inference_mode()
def stream_group_sites(
    model: Backend,
    groups: Sequence[Sequence[Prompt]],
    sites: Sequence[Site],
    batch_size: int = 64,
    progress: bool = False,
    desc: str = "reading groups",
) -> Iterator[tuple[int, list[Tensor]]]:
    """Yield ``(first group index, [activation per site])`` batch by batch, in group order; each
    activation is [group, emotion, *site_shape] at the last prompt token."""
    E = len(groups[0])
    per_batch = max(1, batch_size // E)
    recorders = [Record(last=True, dtype=torch.float32) for _ in sites]
    stop = stop_layer(sites)
    starts = range(0, len(groups), per_batch)
    with model.hooks(list(zip(sites, recorders))):
        for start in tqdm(starts, desc=desc, disable=not progress, leave=False):
            chunk = groups[start : start + per_batch]
            batch = model.encode([p.text for g in chunk for p in g])
            model.forward(batch.tokens, batch.attention_mask, stop_at_layer=stop)
            yield start, [r.value.reshape(len(chunk), E, *r.value.shape[1:]) for r in recorders]


def stream_group_activations(
    model: Backend,
    groups: Sequence[Sequence[Prompt]],
    sites: Sequence[ResidSite],
    batch_size: int = 64,
    progress: bool = False,
) -> Iterator[tuple[int, Float[Tensor, "group emotion site d_model"]]]:
    """Residual read-outs stacked on a site axis: [group, emotion, site, d_model] per batch."""
    for start, acts in stream_group_sites(model, groups, sites, batch_size, progress, "reading directions"):
        yield start, torch.stack(acts, dim=2)


def group_contrasts(
    model: Backend,
    prompts: Sequence[Prompt],
    emotions: Sequence[str],
    sites: Sequence,
    batch_size: int = 64,
    progress: bool = False,
) -> tuple[list[Tensor], int]:
    """The study's within-group contrast ``c_e - mean c`` at each site (not normalised),
    streamed; returns ([emotion, *site_shape] per site, number of groups)."""
    groups = group_prompts(prompts, emotions)
    sums = [CenteredSums() for _ in sites]
    shapes: list[tuple[int, ...]] = []
    for _, acts in stream_group_sites(model, groups, sites, batch_size, progress, "reading contrasts"):
        shapes = [tuple(a.shape[2:]) for a in acts]
        for s, a in zip(sums, acts):
            s.add(a.reshape(a.shape[0], a.shape[1], 1, -1), [["all"]] * a.shape[0])
    return [s.contrast("all")[:, 0].reshape(len(emotions), *shape) for s, shape in zip(sums, shapes)], len(groups)


@dataclass(frozen=True, eq=False)
class Extraction:
    """Directions plus what the evidence needs."""

    directions: EmotionDirections
    sums: CenteredSums
    samples: Float[Tensor, "group emotion site d_model"] | None
    """Per-sample activations (only when a probe or a non-streaming aggregator needs them)."""
    groups: tuple[tuple[str, str], ...]
    themes: tuple[str, ...]


def memberships(groups: Sequence[Sequence[Prompt]], seed: int) -> list[list[str]]:
    """Subsets each group belongs to: all, a random half of the skeletons, its theme, its valence."""
    skeletons = sorted({g[0].skeleton_id for g in groups})
    rng = random.Random(seed)
    rng.shuffle(skeletons)
    half = {s: i % 2 for i, s in enumerate(skeletons)}
    return [["all", f"half{half[g[0].skeleton_id]}", f"theme:{g[0].theme}", f"valence:{g[0].valence}"] for g in groups]


def extract_directions(
    model: Backend,
    prompts: Sequence[Prompt],
    emotions: Sequence[str],
    aggregator: Aggregator = Aggregator.CENTERED,
    batch_size: int = 64,
    keep_samples: bool = True,
    seed: int = 0,
    progress: bool = False,
) -> Extraction:
    """Directions of ``emotions`` at every read-out, from the complete groups among ``prompts``."""
    groups = group_prompts(prompts, emotions)
    if len(groups) < 2:
        from circuits.errors import UserError

        raise UserError(f"only {len(groups)} complete groups: directions need at least 2 (try elicit.filter=false)")
    sites = resid_sites(model.info.n_layers)
    member = memberships(groups, seed)
    sums = CenteredSums()
    rms_sum = torch.zeros(len(sites))
    emotion_sum: Tensor | None = None
    kept: list[Tensor] = []
    for start, acts in stream_group_activations(model, groups, sites, batch_size, progress):
        acts = acts.cpu()  # directions and evidence live on the CPU, as when loaded from disk
        sums.add(acts, member[start : start + acts.shape[0]])
        rms_sum += acts.pow(2).mean(dim=-1).sqrt().sum(dim=(0, 1))
        emotion_sum = acts.sum(dim=0) if emotion_sum is None else emotion_sum + acts.sum(dim=0)
        if keep_samples or not aggregator.streaming:
            kept.append(acts)
    samples = torch.cat(kept) if kept else None
    if aggregator is Aggregator.CENTERED:
        raw = sums.contrast("all")
        vectors = unit(raw)
    elif aggregator is Aggregator.ONE_VS_REST:
        raw = one_vs_rest((emotion_sum / len(groups))[None])
        vectors = unit(raw)
    else:
        vectors, raw = aggregate(aggregator, samples)
    directions = EmotionDirections(
        vectors=vectors,
        raw=raw,
        rms=rms_sum / (len(groups) * len(emotions)),
        emotions=tuple(emotions),
        n_layers=model.info.n_layers,
        model=model.name,
        aggregator=aggregator.value,
        n_groups=len(groups),
    )
    themes = tuple(sorted({g[0].theme for g in groups}))
    return Extraction(directions, sums, samples, tuple(g[0].group for g in groups), themes)
