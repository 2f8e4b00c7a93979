"""Stage ``components`` (the study's stage 3): neurons and heads scored per emotion, the fast
scorer checked against the exact one, and the rankings validated by ablation and enhancement."""

from __future__ import annotations

import logging
import random

import numpy as np
import torch
from scipy.stats import spearmanr

from circuits import layout
from circuits.attribution.components import ATTRIBUTION, ComponentScores, score_components
from circuits.attribution.validation import powers_of_two, validation_curves
from circuits.controls import random_like
from circuits.data.prompts import per_emotion
from circuits.evaluation.accuracy import accuracy, generate_and_judge
from circuits.evaluation.tables import csv_text
from circuits.interventions import intervene, scale_hooks
from circuits.nodes import HeadNode, NeuronNode, ranked
from circuits.stages.context import RunContext
from circuits.viz import plots
from circuits.vocab import Positions, Split

log = logging.getLogger(__name__)

FILES = layout.COMPONENTS


def _spearman(a: torch.Tensor, b: torch.Tensor) -> float:
    r = spearmanr(a.flatten().numpy(), b.flatten().numpy()).statistic
    return round(float(r), 4)


def _tables(ctx: RunContext, scores: ComponentScores, top_n: int) -> None:
    for emotion in scores.emotions:
        rows = scores.neurons.rows(emotion)[:top_n]
        ctx.run.write_text(FILES.neuron_table.path(emotion=emotion),
                           csv_text(["layer", "neuron", "score", "mean_activation", "w_out_v"], rows))
        L, H = scores.head_scores(emotion).shape
        header = ["layer", "head", *scores.heads]
        hrows = [[layer, h, *[float(scores.heads[m][scores.emotions.index(emotion), layer, h]) for m in scores.heads]]
                 for layer in range(L) for h in range(H)]
        hrows.sort(key=lambda r: -r[2 + list(scores.heads).index(scores.head_score)])
        ctx.run.write_text(FILES.head_table.path(emotion=emotion), csv_text(header, hrows))


def _generation_check(ctx: RunContext, scores: ComponentScores, emotion: str, k: int) -> dict:
    """Judged replies with the top-k neurons+heads ablated (emotion prompts) and enhanced
    (neutral prompts), against random components of the same layers."""
    model, judge, c = ctx.model, ctx.judge, ctx.cfg.components
    split = ctx.split(Split.TEST)
    emo = ctx.prompts(split, [emotion])[: c.generate_prompts]
    neu = ctx.neutral_prompts(split)[: c.generate_prompts]
    neurons, heads = ranked(scores.neuron_scores(emotion), NeuronNode)[:k], ranked(scores.head_scores(emotion), HeadNode)[:k]
    rng = random.Random(ctx.cfg.seed)
    n_units = {HeadNode: model.info.n_heads, NeuronNode: model.info.d_mlp}
    rand = random_like(neurons, n_units, rng, top_up=False) + random_like(heads, n_units, rng, top_up=False)
    out = {}
    for name, nodes in (("top", neurons + heads), ("random", rand)):
        with intervene(model, scale_hooks(nodes, 0.0, Positions.ALL)):
            recs = generate_and_judge(model, judge, emo, ctx.decoding, progress=False)
        out[f"ablate_{name}_accuracy"] = round(accuracy(recs), 2)
        with intervene(model, scale_hooks(nodes, c.enhance_scale, Positions.ALL)):
            recs = generate_and_judge(model, judge, neu, ctx.decoding, targets=[emotion] * len(neu), progress=False)
        out[f"enhance_{name}_neutral_to_emotion"] = round(accuracy(recs), 2)
    out["clean_accuracy"] = round(accuracy(generate_and_judge(model, judge, emo, ctx.decoding, progress=False)), 2)
    return out


def _figures(ctx: RunContext, scores: ComponentScores, curves: dict) -> None:
    L, H = next(iter(scores.heads.values())).shape[1:]
    mats = scores.heads[scores.head_score].numpy()
    lim = float(np.abs(mats).max()) or 1.0
    ctx.run.save_figure(FILES.heads_heatmap.path(), plots.heatmap_grid(
        np.transpose(mats, (0, 1, 2)), list(scores.emotions), [str(i) for i in range(max(L, H))],
        f"head scores ({scores.head_score} drop), rows = layer, cols = head", vmin=-lim, vmax=lim))
    ctx.run.save_figure(FILES.validation_figure.path(), plots.validation_figure(curves, list(scores.emotions)))


def _curves(ctx: RunContext, scores: ComponentScores, prompts: list, emotion: str) -> dict:
    """Top-k vs random-k ablation and enhancement curves of the emotion's neuron and head rankings."""
    c, bs = ctx.cfg.components, ctx.cfg.decoding.batch_size
    texts = [p.text for p in prompts if p.emotion == emotion]
    batches = [ctx.model.encode(texts[i : i + bs]) for i in range(0, len(texts), bs)]
    v_ref = ctx.reference.vector(ctx.directions, emotion)
    ks = powers_of_two(c.validate_ks_max)
    return {kind: validation_curves(ctx.model, batches, v_ref, ranked(table, node), ks, c.random_draws,
                                    c.enhance_scale, ctx.cfg.seed)
            for kind, table, node in (("neurons", scores.neuron_scores(emotion), NeuronNode),
                                      ("heads", scores.head_scores(emotion), HeadNode))}


def _entry(scores: ComponentScores, emotion: str, curves: dict) -> dict:
    """The emotion's headline numbers: top components, rank agreement, the largest-k ablation
    and enhancement against random."""
    e = scores.emotions.index(emotion)
    entry = {
        "top_neurons": [f"{n} {s:+.4f}" for n, s in scores.neurons.top(emotion, 10)],
        "top_heads": [f"{h} {s:+.4f}" for h, s in scores.top_heads(emotion, 5)],
        "spearman_heads_attribution_vs_exact_final": (
            _spearman(scores.heads[ATTRIBUTION][e], scores.heads["final"][e]) if "final" in scores.heads else None),
        "spearman_heads_attribution_vs_same_layer": (
            _spearman(scores.heads[ATTRIBUTION][e], scores.heads["same_layer"][e]) if "same_layer" in scores.heads else None),
        "spearman_neurons_attribution_vs_analytic": _spearman(scores.neuron_attribution[e], scores.neurons.scores[e]),
    }
    for kind in ("neurons", "heads"):
        cv = curves[kind]
        k_last = cv["k"][-1]
        top_drop, rand_drop = -cv["ablate"]["top"][-1], -cv["ablate"]["random_mean"][-1]
        entry[f"{kind}_ablation_k{k_last}"] = {
            "top_drop": round(top_drop, 4), "random_drop": round(rand_drop, 4),
            # how many times the random sets' (absolute) drop the top set's drop is
            "ratio": round(top_drop / abs(rand_drop), 2) if abs(rand_drop) > 1e-9 else None,
            "clean_projection": round(cv["clean"], 4)}
        entry[f"{kind}_enhancement_k{k_last}"] = {
            "top_gain": round(cv["enhance"]["top"][-1], 4), "random_gain": round(cv["enhance"]["random_mean"][-1], 4)}
    return entry


def run(ctx: RunContext) -> ComponentScores:
    cfg, c = ctx.cfg, ctx.cfg.components
    prompts = per_emotion(ctx.discovery_prompts(ctx.elicitation.groups), ctx.emotions, c.max_prompts)
    scores = score_components(ctx.model, prompts, ctx.directions, ctx.reference, c.ablation, c.metrics,
                              c.head_score, cfg.decoding.batch_size, cfg.progress)
    ctx.run.save(FILES.neurons, scores.neurons)
    ctx.run.save(FILES.heads, scores)
    _tables(ctx, scores, c.top_n_table)
    summary: dict = {"reference_segment": ctx.reference.describe(), "ablation": c.ablation,
                     "n_prompts_per_emotion": len(prompts) // len(ctx.emotions), "per_emotion": {}}
    curves = {}
    val_prompts = per_emotion(prompts, ctx.emotions, c.validate_prompts)
    for emotion in ctx.emotions:
        curves[emotion] = _curves(ctx, scores, val_prompts, emotion)
        entry = _entry(scores, emotion, curves[emotion])
        if c.generate_k > 0:
            entry["generation"] = _generation_check(ctx, scores, emotion, c.generate_k)
        summary["per_emotion"][emotion] = entry
        log.info("components %s: %s", emotion, {k: v for k, v in entry.items() if "ablation" in k or k == "generation"})
    ctx.run.write_json(FILES.validation.path(), curves)
    _figures(ctx, scores, curves)
    ctx.run.add_metrics("components", summary)
    return scores


def load(ctx: RunContext) -> ComponentScores:
    return ComponentScores.load(ctx.run.path(FILES.neurons.path()), ctx.run.path(FILES.heads.path()))

