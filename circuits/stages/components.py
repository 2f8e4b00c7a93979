"""Stage ``components`` (method.md, stage 3): neurons and heads scored per emotion, the fast
scorer checked against the exact one, and the rankings validated by ablation and enhancement."""

from __future__ import annotations

import logging

import numpy as np
import torch
from scipy.stats import spearmanr

from circuits.attribution.components import ATTRIBUTION, ComponentScores, score_components
from circuits.attribution.heads import Ablation, Metric
from circuits.attribution.validation import powers_of_two, ranked_heads, ranked_neurons, validation_curves
from circuits.circuit.nodes import scale_hooks
from circuits.circuit.reference import reference_directions
from circuits.data.prompts import Template, build_prompts
from circuits.evaluation.accuracy import accuracy, generate_and_judge
from circuits.evaluation.tables import csv_text
from circuits.interventions import Positions, intervene
from circuits.stages.directions import discovery_prompts
from circuits.stages.elicit import decoding_of
from circuits.viz import plots

log = logging.getLogger(__name__)

DIR = "components"


def reference_of(ctx):
    r = ctx.cfg.reference
    return reference_directions(ctx.result("directions"), r.segment, r.threshold)


def per_emotion(prompts, emotions, limit):
    out = []
    for e in emotions:
        mine = [p for p in prompts if p.emotion == e]
        if limit is not None and len(mine) > limit:
            step = len(mine) / limit
            mine = [mine[int(i * step)] for i in range(limit)]
        out += mine
    return out


def _spearman(a: torch.Tensor, b: torch.Tensor) -> float:
    r = spearmanr(a.flatten().numpy(), b.flatten().numpy()).statistic
    return round(float(r), 4)


def _tables(ctx, scores: ComponentScores, top_n: int) -> None:
    for emotion in scores.emotions:
        rows = scores.neurons.rows(emotion)[:top_n]
        ctx.run.write_text(f"{DIR}/neurons_{emotion}.csv",
                           csv_text(["layer", "neuron", "score", "mean_activation", "w_out_v"], rows))
        L, H = scores.head_scores(emotion).shape
        header = ["layer", "head", *scores.heads]
        hrows = [[layer, h, *[float(scores.heads[m][scores.emotions.index(emotion), layer, h]) for m in scores.heads]]
                 for layer in range(L) for h in range(H)]
        hrows.sort(key=lambda r: -r[2 + list(scores.heads).index(scores.head_score)])
        ctx.run.write_text(f"{DIR}/heads_{emotion}.csv", csv_text(header, hrows))


def _generation_check(ctx, scores, reference, emotion, k):
    """Judged replies with the top-k neurons+heads ablated (emotion prompts) and enhanced
    (neutral prompts), against random components of the same layers."""
    import random

    from circuits.attribution.validation import random_like

    cfg, model, judge = ctx.cfg, ctx.model, ctx.judge
    c = cfg.components
    decoding = decoding_of(cfg)
    split = ctx.split("test")
    emo = [p for p in build_prompts(model.render_chat, split, [emotion], Template(cfg.model.template))][: c.generate_prompts]
    neu = [p for p in build_prompts(model.render_chat, split, [None], Template(cfg.model.template))][: c.generate_prompts]
    top = ranked_neurons(scores.neuron_scores(emotion))[:k] + ranked_heads(scores.head_scores(emotion))[:k]
    rng = random.Random(cfg.seed)
    sizes_n = {layer: model.info.d_mlp for layer in range(model.info.n_layers)}
    sizes_h = {layer: model.info.n_heads for layer in range(model.info.n_layers)}
    rand = random_like(top[:k], sizes_n, rng) + random_like(top[k:], sizes_h, rng)
    out = {}
    for name, nodes in (("top", top), ("random", rand)):
        with intervene(model, scale_hooks(nodes, 0.0, Positions.ALL)):
            recs = generate_and_judge(model, judge, emo, decoding, progress=False)
        out[f"ablate_{name}_accuracy"] = round(accuracy(recs), 2)
        with intervene(model, scale_hooks(nodes, c.enhance_scale, Positions.ALL)):
            recs = generate_and_judge(model, judge, neu, decoding, targets=[emotion] * len(neu), progress=False)
        out[f"enhance_{name}_neutral_to_emotion"] = round(accuracy(recs), 2)
    out["clean_accuracy"] = round(accuracy(generate_and_judge(model, judge, emo, decoding, progress=False)), 2)
    return out


def _figures(ctx, scores: ComponentScores, curves: dict) -> None:
    L, H = next(iter(scores.heads.values())).shape[1:]
    mats = scores.heads[scores.head_score].numpy()
    lim = float(np.abs(mats).max()) or 1.0
    ctx.run.save_figure(f"{DIR}/heads_heatmap.png", plots.heatmap_grid(
        np.transpose(mats, (0, 1, 2)), list(scores.emotions), [str(i) for i in range(max(L, H))],
        f"head scores ({scores.head_score} drop), rows = layer, cols = head", vmin=-lim, vmax=lim))
    ctx.run.save_figure(f"{DIR}/validation.png", plots.validation_figure(curves, list(scores.emotions)))


def run(ctx) -> ComponentScores:
    cfg, model = ctx.cfg, ctx.model
    c = cfg.components
    directions = ctx.result("directions")
    elicitation = ctx.result("elicit")
    reference = reference_of(ctx)
    prompts = per_emotion(discovery_prompts(ctx, elicitation.groups), ctx.emotions, c.max_prompts)
    metrics = [Metric(m) for m in c.metrics]
    scores = score_components(model, prompts, directions, reference, Ablation(c.ablation), metrics,
                              Metric(c.head_score), cfg.decoding.batch_size, cfg.progress)
    scores.save(ctx.run.path(DIR))
    for rel in ("neurons.safetensors", "neurons.json", "heads.safetensors", "heads.json"):
        ctx.run.adopt(f"{DIR}/{rel}")
    _tables(ctx, scores, c.top_n_table)

    summary: dict = {"reference_segment": reference.describe(model.info.n_layers), "ablation": c.ablation,
                     "n_prompts_per_emotion": len(prompts) // len(ctx.emotions), "per_emotion": {}}
    curves = {}
    val_prompts = per_emotion(prompts, ctx.emotions, c.validate_prompts)
    for emotion in ctx.emotions:
        e = ctx.emotions.index(emotion)
        texts = [p.text for p in val_prompts if p.emotion == emotion]
        bs = cfg.decoding.batch_size
        batches = [model.encode(texts[i : i + bs]) for i in range(0, len(texts), bs)]
        v_ref = reference.vector(directions, emotion)
        ks = powers_of_two(c.validate_ks_max)
        curves[emotion] = {
            "neurons": validation_curves(model, batches, v_ref, ranked_neurons(scores.neuron_scores(emotion)), ks,
                                         c.random_draws, c.enhance_scale, cfg.seed),
            "heads": validation_curves(model, batches, v_ref, ranked_heads(scores.head_scores(emotion)), ks,
                                       c.random_draws, c.enhance_scale, cfg.seed),
        }
        entry = {
            "top_neurons": [f"L{a}N{b} {s:+.4f}" for a, b, s in scores.neurons.top(emotion, 10)],
            "top_heads": [f"L{a}H{b} {s:+.4f}" for a, b, s in scores.top_heads(emotion, 5)],
            "spearman_heads_attribution_vs_exact_final": (
                _spearman(scores.heads[ATTRIBUTION][e], scores.heads["final"][e]) if "final" in scores.heads else None),
            "spearman_heads_attribution_vs_same_layer": (
                _spearman(scores.heads[ATTRIBUTION][e], scores.heads["same_layer"][e]) if "same_layer" in scores.heads else None),
            "spearman_neurons_attribution_vs_analytic": _spearman(scores.neuron_attribution[e], scores.neurons.scores[e]),
        }
        for kind in ("neurons", "heads"):
            cv = curves[emotion][kind]
            k_last = cv["k"][-1]
            top_drop, rand_drop = -cv["ablate"]["top"][-1], -cv["ablate"]["random_mean"][-1]
            entry[f"{kind}_ablation_k{k_last}"] = {
                "top_drop": round(top_drop, 4), "random_drop": round(rand_drop, 4),
                # how many times the random sets' (absolute) drop the top set's drop is
                "ratio": round(top_drop / abs(rand_drop), 2) if abs(rand_drop) > 1e-9 else None,
                "clean_projection": round(cv["clean"], 4)}
            entry[f"{kind}_enhancement_k{k_last}"] = {
                "top_gain": round(cv["enhance"]["top"][-1], 4), "random_gain": round(cv["enhance"]["random_mean"][-1], 4)}
        if c.generate_k > 0:
            entry["generation"] = _generation_check(ctx, scores, reference, emotion, c.generate_k)
        summary["per_emotion"][emotion] = entry
        log.info("components %s: %s", emotion, {k: v for k, v in entry.items() if "ablation" in k or k == "generation"})
    ctx.run.write_json(f"{DIR}/validation.json", curves)
    _figures(ctx, scores, curves)
    ctx.run.add_metrics("components", summary)
    return scores


def load(ctx) -> ComponentScores:
    return ComponentScores.load(ctx.run.path(DIR))
