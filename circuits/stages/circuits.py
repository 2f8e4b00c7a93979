"""Stage ``circuits`` (method.md, stage 4): sublayer importance, budgeted assembly of one
circuit per emotion, intervention vectors, and the circuits' measured quality."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import numpy as np
import torch
from scipy.stats import spearmanr

from circuits.circuit.assembly import assemble, study_budget
from circuits.circuit.circuit import Circuit
from circuits.circuit.importance import SublayerImportance, injection_importance, patching_importance, readout_rms
from circuits.circuit.quality import faithfulness, necessity
from circuits.data.prompts import Template, build_prompts
from circuits.modulation.vectors import InterventionVectors, intervention_vectors, reply_contrasts
from circuits.sites import Sublayer
from circuits.stages.components import per_emotion, reference_of
from circuits.stages.directions import discovery_prompts
from circuits.viz import plots
from circuits.viz.graph import circuit_figure, circuit_html

log = logging.getLogger(__name__)

DIR = "circuits"


@dataclass(frozen=True, eq=False)
class CircuitSet:
    circuits: dict[str, Circuit]
    vectors: InterventionVectors
    importance: dict


def _paired_batches(ctx, groups_by_emotion):
    """Neutral and emotion prompts of the same groups, in the same order, in batches."""
    model, cfg = ctx.model, ctx.cfg
    neutral = {p.group: p for p in build_prompts(model.render_chat, ctx.split("discovery"), [None],
                                                 Template(cfg.model.template))}
    bs = cfg.decoding.batch_size
    out = {}
    for emotion, prompts in groups_by_emotion.items():
        n_texts = [neutral[p.group].text for p in prompts]
        e_texts = [p.text for p in prompts]
        out[emotion] = [(model.encode(n_texts[i : i + bs]), model.encode(e_texts[i : i + bs]))
                        for i in range(0, len(prompts), bs)]
    return out


def _reply_groups(prompts, elicitation, emotions, limit):
    """(prompt, elicited reply) per emotion for complete groups, for the reply-phase contrast."""
    replies = {(r["skeleton_id"], r["valence"], r["target"]): r["reply"] for r in elicitation.records.get(elicitation.key, [])}
    groups: dict = {}
    for p in prompts:
        reply = replies.get((p.skeleton_id, p.valence, p.emotion))
        if reply:
            groups.setdefault(p.group, {})[p.emotion] = (p.text, reply)
    complete = [g for g in groups.values() if all(e in g for e in emotions)]
    return complete[:limit] if limit else complete


def _importance(ctx, directions, reference, pairs) -> SublayerImportance:
    model, c = ctx.model, ctx.cfg.circuit
    all_neutral = [n for batches in pairs.values() for n, _ in batches]
    sigma = readout_rms(model, all_neutral[: max(1, len(all_neutral) // len(pairs))])
    inj, per_alpha, patch = [], [], []
    for emotion, batches in pairs.items():
        e = directions.emotions.index(emotion)
        v_ref = reference.vector(directions, emotion)
        w = [len(n) for n, _ in batches]
        pa = sum(wi * injection_importance(model, n, directions.vectors[e], v_ref, sigma, c.alphas)
                 for wi, (n, _) in zip(w, batches)) / sum(w)
        pt = sum(wi * patching_importance(model, n, em, v_ref) for wi, (n, em) in zip(w, batches)) / sum(w)
        per_alpha.append(pa)
        inj.append(pa.mean(dim=0))
        patch.append(pt)
    return SublayerImportance(torch.stack(inj), torch.stack(per_alpha), torch.stack(patch), sigma,
                              tuple(c.alphas), tuple(pairs))


def _figures(ctx, imp: SublayerImportance, circuits: dict[str, Circuit], overlap: np.ndarray, size_curve: dict):
    n = ctx.model.info.n_layers
    emotions = list(circuits)
    plt = plots._plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), sharey=False)
    for sub, ax in zip(Sublayer, axes):
        for i, e in enumerate(emotions):
            ax.plot(range(n), imp.of(e, sub).numpy(), marker="o", ms=3, label=e, color=f"C{i}")
        ax.axhline(0, color="grey", lw=0.6)
        ax.set_title(f"{sub.value} sublayers: injection importance I")
        ax.set_xlabel("layer")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    ctx.run.save_figure(f"{DIR}/importance.png", fig)
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
    for ax, kind in zip(axes, ("neurons", "heads")):
        width = 0.8 / len(emotions)
        for i, e in enumerate(emotions):
            prof = circuits[e].layer_profile()[kind]
            ax.bar(np.arange(n) + (i - (len(emotions) - 1) / 2) * width, [prof.get(layer, 0) for layer in range(n)],
                   width, label=e, color=f"C{i}")
        ax.set_xticks(range(n), [f"L{layer}" for layer in range(n)], fontsize=7)
        ax.set_title(f"{kind} per layer")
    axes[0].legend(fontsize=7)
    ctx.run.save_figure(f"{DIR}/allocation.png", fig)
    ctx.run.save_figure(f"{DIR}/overlap.png", plots.heatmap_grid(
        overlap[None], ["Jaccard overlap of circuits"], emotions, "cross-emotion circuit overlap", vmin=0, vmax=1,
        cmap="viridis"))
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    for i, e in enumerate(emotions):
        m = size_curve[e]
        axes[0].plot(m["multiplier"], m["necessity_margin"], marker="o", label=e, color=f"C{i}")
        axes[1].plot(m["multiplier"], m["faithfulness"], marker="o", label=e, color=f"C{i}")
    for ax, t in zip(axes, ("necessity margin (drop - random drop)", "faithfulness (circuit / whole layers)")):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("budget x study default")
        ax.set_title(t, fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    ctx.run.save_figure(f"{DIR}/size_curve.png", fig)
    for e, c in circuits.items():
        ctx.run.save_figure(f"{DIR}/graph_{e}.png", circuit_figure(c, n))
        ctx.run.write_text(f"{DIR}/graph_{e}.html", "<!doctype html><meta charset='utf-8'>" + circuit_html(c, n))


def run(ctx) -> CircuitSet:
    cfg, model = ctx.cfg, ctx.model
    c = cfg.circuit
    info = model.info
    directions = ctx.result("directions")
    scores = ctx.result("components")
    elicitation = ctx.result("elicit")
    reference = reference_of(ctx)
    all_prompts = discovery_prompts(ctx, elicitation.groups)
    vectors = intervention_vectors(model, all_prompts, ctx.emotions, cfg.decoding.batch_size)
    reply_groups = _reply_groups(all_prompts, elicitation, ctx.emotions, c.max_prompts)
    if reply_groups:
        vectors = vectors.with_reply(*reply_contrasts(model, reply_groups, ctx.emotions))
    vectors.save(ctx.run.path(f"{DIR}/vectors"))
    ctx.run.adopt(f"{DIR}/vectors.safetensors")
    ctx.run.adopt(f"{DIR}/vectors.json")

    chosen = per_emotion(all_prompts, ctx.emotions, c.max_prompts)
    pairs = _paired_batches(ctx, {e: [p for p in chosen if p.emotion == e] for e in ctx.emotions})
    imp = _importance(ctx, directions, reference, pairs)
    budget = study_budget(info, c.neurons_per_layer, c.head_fraction, c.min_neurons, c.min_heads, c.cap)
    prov = {"model": info.name, "reference_segment": reference.describe(info.n_layers)}
    circuits = {e: assemble(e, imp, scores, budget, info, c.importance, prov) for e in ctx.emotions}
    for e, circ in circuits.items():
        circ.save(ctx.run.path(f"{DIR}/circuit_{e}.json"))
        ctx.run.adopt(f"{DIR}/circuit_{e}.json")

    quality, size_curve = {}, {}
    for e in ctx.emotions:
        v_ref = reference.vector(directions, e)
        neutral = [n for n, _ in pairs[e]]
        emotional = [em for _, em in pairs[e]]
        quality[e] = {
            "faithfulness": faithfulness(model, neutral, circuits[e], vectors, v_ref, c.scale),
            "necessity": necessity(model, emotional, circuits[e], v_ref, c.necessity_draws, cfg.seed),
            "spearman_injection_vs_patching": round(float(spearmanr(imp.injection[imp.emotions.index(e)].numpy(),
                                                                    imp.patching[imp.emotions.index(e)].numpy()).statistic), 4),
        }
        curve = {"multiplier": [], "n_neurons": [], "n_heads": [], "necessity_margin": [], "necessity_drop": [],
                 "faithfulness": []}
        for m in c.size_multipliers:
            b = budget.scaled(m, info)
            circ = assemble(e, imp, scores, b, info, c.importance, prov)
            nec = necessity(model, emotional, circ, v_ref, max(2, c.necessity_draws // 2), cfg.seed)
            fai = faithfulness(model, neutral, circ, vectors, v_ref, c.scale)
            curve["multiplier"].append(m)
            curve["n_neurons"].append(len(circ.neurons))
            curve["n_heads"].append(len(circ.heads))
            curve["necessity_margin"].append(nec["margin"])
            curve["necessity_drop"].append(nec["drop"])
            curve["faithfulness"].append(fai["ratio"])
        size_curve[e] = curve
        log.info("circuit %s: %d heads + %d neurons; necessity margin %.3f (z %s); faithfulness %.3f", e,
                 len(circuits[e].heads), len(circuits[e].neurons), quality[e]["necessity"]["margin"],
                 quality[e]["necessity"]["z"], quality[e]["faithfulness"]["ratio"] or float("nan"))
    overlap = np.array([[circuits[a].jaccard(circuits[b]) for b in ctx.emotions] for a in ctx.emotions])
    importance = {
        "sites": [f"L{i // 2}.{'attn' if i % 2 == 0 else 'mlp'}" for i in range(2 * info.n_layers)],
        "alphas": list(c.alphas),
        "sigma": imp.sigma.tolist(),
        "injection": {e: imp.injection[i].tolist() for i, e in enumerate(imp.emotions)},
        "injection_per_alpha": {e: imp.injection_per_alpha[i].tolist() for i, e in enumerate(imp.emotions)},
        "patching": {e: imp.patching[i].tolist() for i, e in enumerate(imp.emotions)},
    }
    ctx.run.write_json(f"{DIR}/importance.json", importance)
    _figures(ctx, imp, circuits, overlap, size_curve)
    mean_inj = imp.injection.mean(dim=0)
    metrics = {
        "budget": {"neurons": vars(budget.neurons), "heads": vars(budget.heads)},
        "reference_segment": reference.describe(info.n_layers),
        "importance_mean_over_emotions": dict(zip(importance["sites"], mean_inj.tolist())),
        "importance_peak": importance["sites"][int(mean_inj.argmax())],
        "quality": quality,
        # margin > 0: the circuit's drop beats the random circuits' mean drop; the stricter
        # beats_every_random: it beats the largest drop of any random circuit drawn
        "necessity_margin_positive_every_emotion": all(q["necessity"]["margin"] > 0 for q in quality.values()),
        "necessity_beats_every_random_every_emotion": all(q["necessity"]["beats_every_random"]
                                                          for q in quality.values()),
        "size_curve": size_curve,
        "overlap_jaccard": {a: dict(zip(ctx.emotions, row)) for a, row in zip(ctx.emotions, overlap.tolist())},
        "circuit_sizes": {e: {"heads": len(ci.heads), "neurons": len(ci.neurons)} for e, ci in circuits.items()},
    }
    ctx.run.add_metrics("circuits", metrics)
    return CircuitSet(circuits, vectors, importance)


def load(ctx) -> CircuitSet:
    circuits = {e: Circuit.load(ctx.run.path(f"{DIR}/circuit_{e}.json")) for e in ctx.emotions}
    vectors = InterventionVectors.load(ctx.run.path(f"{DIR}/vectors"))
    importance = json.loads(ctx.run.path(f"{DIR}/importance.json").read_text())
    return CircuitSet(circuits, vectors, importance)
