"""Scoring every neuron and head of a model for every emotion, and the ``ComponentScores``
result that the circuit stage reads."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from jaxtyping import Float
from torch import Tensor
from tqdm.auto import tqdm

from circuits.artifacts import atomic_write_bytes, dumps_json
from circuits.attribution.gradients import attribution_patching
from circuits.attribution.heads import HeadTargets, dataset_means, exact_head_effects, mean_z
from circuits.attribution.neurons import NeuronScores, neuron_scores
from circuits.data.prompts import Prompt
from circuits.directions.emotion_directions import EmotionDirections
from circuits.directions.reference import Reference
from circuits.model.backend import Backend
from circuits.nodes import HeadNode, top_nodes
from circuits.sites import NeuronsSite, ReadOut, ResidSite
from circuits.vocab import Ablation, Metric

ATTRIBUTION = "attribution"


@dataclass(frozen=True, eq=False)
class ComponentScores:
    """Neuron scores (analytic) and head scores (per metric) for every emotion."""

    neurons: NeuronScores
    heads: dict[str, Float[Tensor, "emotion layer head"]]
    """``same_layer`` and/or ``final`` (exact ablation) and ``attribution`` (fast, final metric)."""
    neuron_attribution: Float[Tensor, "emotion layer d_mlp"]
    head_score: str
    emotions: tuple[str, ...]
    meta: dict = field(default_factory=dict)

    def head_scores(self, emotion: str, metric: str | None = None) -> Float[Tensor, "layer head"]:
        return self.heads[metric or self.head_score][self.emotions.index(emotion)]

    def neuron_scores(self, emotion: str) -> Float[Tensor, "layer d_mlp"]:
        return self.neurons.scores[self.emotions.index(emotion)]

    def top_heads(self, emotion: str, k: int, layers: Sequence[int] | None = None) -> list[tuple[HeadNode, float]]:
        """The ``k`` highest-scoring heads of an emotion with their scores, optionally within layers."""
        return top_nodes(self.head_scores(emotion), HeadNode, k, layers)

    def save(self, stem: str | Path) -> None:
        """Write the head scores and the neuron attribution (``<stem>.safetensors`` and
        ``<stem>.json``); the neuron scores save themselves (:meth:`NeuronScores.save`)."""
        from safetensors.torch import save

        stem = Path(stem)
        tensors = {f"heads.{k}": v.contiguous() for k, v in self.heads.items()}
        tensors["neuron_attribution"] = self.neuron_attribution.contiguous()
        atomic_write_bytes(stem.with_suffix(".safetensors"), save(tensors))
        atomic_write_bytes(stem.with_suffix(".json"), dumps_json(
            {"emotions": list(self.emotions), "head_score": self.head_score, **self.meta}).encode())

    @classmethod
    def load(cls, neurons: str | Path, heads: str | Path) -> ComponentScores:
        """Read what :meth:`NeuronScores.save` wrote at stem ``neurons`` and :meth:`save` at ``heads``."""
        from safetensors.torch import load_file

        heads = Path(heads)
        t = load_file(str(heads.with_suffix(".safetensors")))
        meta = json.loads(heads.with_suffix(".json").read_text())
        head_scores = {k.removeprefix("heads."): v for k, v in t.items() if k.startswith("heads.")}
        extra = {k: v for k, v in meta.items() if k not in ("emotions", "head_score")}
        return cls(NeuronScores.load(neurons), head_scores, t["neuron_attribution"], meta["head_score"],
                   tuple(meta["emotions"]), extra)


def score_components(
    model: Backend,
    prompts: Sequence[Prompt],
    directions: EmotionDirections,
    reference: Reference,
    ablation: Ablation = Ablation.ZERO,
    metrics: Sequence[Metric] = (Metric.SAME_LAYER, Metric.FINAL),
    head_score: Metric = Metric.SAME_LAYER,
    batch_size: int = 32,
    progress: bool = False,
) -> ComponentScores:
    """Analytic neuron scores, exact head ablations and attribution patching, per emotion.

    ``prompts`` are emotion prompts; each emotion is scored on its own prompts.
    """
    L = model.info.n_layers
    neurons = neuron_scores(model, prompts, directions, batch_size)
    heads = {m.value: [] for m in metrics}
    heads[ATTRIBUTION] = []
    neuron_attr = []
    chunk = max(1, batch_size // 2)
    means = mean_posts = None
    if ablation is Ablation.MEAN:
        batches = [model.encode([p.text for p in prompts[i : i + batch_size]]) for i in range(0, len(prompts), batch_size)]
        means = mean_z(model, batches)
        mean_posts = torch.stack(dataset_means(model, batches, [NeuronsSite(layer) for layer in range(L)]))
    bar = tqdm(directions.emotions, desc="scoring heads", disable=not progress, leave=False)
    for emotion in bar:
        texts = [p.text for p in prompts if p.emotion == emotion]
        targets = HeadTargets(
            torch.stack([directions.vector(emotion, ResidSite(layer, ReadOut.RESID_MID)) for layer in range(L)]),
            reference.vector(directions, emotion),
        )
        acc = {m.value: torch.zeros(L, model.info.n_heads) for m in metrics}
        acc_attr_h = torch.zeros(L, model.info.n_heads)
        acc_attr_n = torch.zeros(L, model.info.d_mlp)
        for i in range(0, len(texts), chunk):
            batch = model.encode(texts[i : i + chunk])
            w = len(batch) / len(texts)
            for m, v in exact_head_effects(model, batch, targets, ablation, means, metrics).items():
                acc[m.value] += w * v
            attr = attribution_patching(model, batch, targets.final, ablation, mean_z=means, mean_post=mean_posts)
            acc_attr_h += w * attr.heads
            acc_attr_n += w * attr.neurons
        for m in metrics:
            heads[m.value].append(acc[m.value])
        heads[ATTRIBUTION].append(acc_attr_h)
        neuron_attr.append(acc_attr_n)
    return ComponentScores(
        neurons=neurons,
        heads={k: torch.stack(v) for k, v in heads.items()},
        neuron_attribution=torch.stack(neuron_attr),
        head_score=head_score.value,
        emotions=directions.emotions,
        meta={"ablation": ablation.value, "reference_segment": [reference.start, reference.end]},
    )
