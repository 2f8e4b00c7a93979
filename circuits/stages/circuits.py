"""Stage ``circuits`` (the study's stage 4): sublayer importance, budgeted assembly of one
circuit per emotion, intervention vectors, and the circuits' measured quality."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from scipy.stats import spearmanr

from circuits import layout
from circuits.circuit.assembly import CircuitBudget, assemble_circuit, study_budget
from circuits.circuit.circuit import Circuit
from circuits.circuit.importance import Pairs, SublayerImportance, paired_batches, sublayer_importance
from circuits.circuit.quality import necessity
from circuits.data.prompts import Prompt, per_emotion
from circuits.modulation.faithfulness import faithfulness
from circuits.modulation.vectors import InterventionVectors, intervention_vectors, reply_contrasts
from circuits.sites import ResidSite, Sublayer
from circuits.stages.context import RunContext
from circuits.stages.results import CircuitSet, Elicitation
from circuits.viz import plots
from circuits.viz.graph import circuit_figure, circuit_html
from circuits.vocab import Split

log = logging.getLogger(__name__)

FILES = layout.CIRCUITS

def _reply_groups(prompts: Sequence[Prompt], elicitation: Elicitation, emotions: Sequence[str], limit: int | None):
    """(prompt, elicited reply) per emotion for complete groups, for the reply-phase contrast."""
    replies = {(r.skeleton_id, r.valence, r.target): r.reply for r in elicitation.discovery_replies}
    groups: dict = {}
    for p in prompts:
        reply = replies.get((p.skeleton_id, p.valence, p.emotion))
        if reply:
            groups.setdefault(p.group, {})[p.emotion] = (p.text, reply)
    complete = [g for g in groups.values() if all(e in g for e in emotions)]
    return complete[:limit] if limit else complete


def _vectors(ctx: RunContext, prompts: Sequence[Prompt]) -> InterventionVectors:
    """The prompt-phase ``dmu`` and, from the elicited replies, the reply-phase one."""
    vectors = intervention_vectors(ctx.model, prompts, ctx.emotions, ctx.cfg.decoding.batch_size)
    reply_groups = _reply_groups(prompts, ctx.elicitation, ctx.emotions, ctx.cfg.circuit.max_prompts)
    if reply_groups:
        vectors = vectors.with_reply(*reply_contrasts(ctx.model, reply_groups, ctx.emotions))
    return vectors


def _quality(ctx: RunContext, emotion: str, circuit: Circuit, vectors: InterventionVectors, pairs: Pairs,
             imp: SublayerImportance, draws: int) -> dict:
    """Faithfulness and necessity of one circuit, and how the two importances rank sublayers."""
    c, v_ref = ctx.cfg.circuit, ctx.reference.vector(ctx.directions, emotion)
    neutral = [n for n, _ in pairs[emotion]]
    emotional = [em for _, em in pairs[emotion]]
    e = imp.emotions.index(emotion)
    return {
        "faithfulness": faithfulness(ctx.model, neutral, circuit, vectors, v_ref, c.scale),
        "necessity": necessity(ctx.model, emotional, circuit, v_ref, draws, ctx.cfg.seed),
        "spearman_injection_vs_patching": round(float(spearmanr(imp.injection[e].numpy(),
                                                                imp.patching[e].numpy()).statistic), 4),
    }


def _size_curve(ctx: RunContext, emotion: str, budget: CircuitBudget, build, vectors: InterventionVectors,
                pairs: Pairs, imp: SublayerImportance, measured: tuple[Circuit, dict]) -> dict:
    """Necessity and faithfulness of the emotion's circuit at each budget multiplier.
    ``measured`` is the stage's circuit and its quality with ``necessity_draws`` draws: a point
    of the curve with the same nodes and as many draws (seeded alike) is that measurement, so it
    is reused rather than made twice."""
    c, info = ctx.cfg.circuit, ctx.model.info
    draws = max(2, c.necessity_draws // 2)
    curve: dict[str, list] = {"multiplier": [], "n_neurons": [], "n_heads": [], "necessity_margin": [],
                              "necessity_drop": [], "faithfulness": []}
    for m in c.size_multipliers:
        circ = build(emotion, budget.scaled(m, info))
        same = draws == c.necessity_draws and circ == measured[0]
        q = measured[1] if same else _quality(ctx, emotion, circ, vectors, pairs, imp, draws)
        curve["multiplier"].append(m)
        curve["n_neurons"].append(len(circ.neurons))
        curve["n_heads"].append(len(circ.heads))
        curve["necessity_margin"].append(q["necessity"]["margin"])
        curve["necessity_drop"].append(q["necessity"]["drop"])
        curve["faithfulness"].append(q["faithfulness"]["ratio"])
    return curve


def _importance_table(imp: SublayerImportance, n_layers: int) -> dict:
    return {
        "sites": [str(ResidSite.at(i)) for i in range(2 * n_layers)],
        "alphas": list(imp.alphas),
        "sigma": imp.sigma.tolist(),
        "injection": {e: imp.injection[i].tolist() for i, e in enumerate(imp.emotions)},
        "injection_per_alpha": {e: imp.injection_per_alpha[i].tolist() for i, e in enumerate(imp.emotions)},
        "patching": {e: imp.patching[i].tolist() for i, e in enumerate(imp.emotions)},
    }


def _figures(ctx: RunContext, imp: SublayerImportance, circuits: dict[str, Circuit], overlap: np.ndarray,
             size_curve: dict) -> None:
    n = ctx.model.info.n_layers
    curves = {e: {str(sub): imp.of(e, sub).numpy() for sub in Sublayer} for e in circuits}
    ctx.run.save_figure(FILES.importance_figure.path(), plots.importance_figure(curves, n))
    ctx.run.save_figure(FILES.allocation.path(), plots.allocation_figure(
        {e: c.layer_profile() for e, c in circuits.items()}, n))
    ctx.run.save_figure(FILES.overlap.path(), plots.heatmap_grid(
        overlap[None], ["Jaccard overlap of circuits"], list(circuits), "cross-emotion circuit overlap", vmin=0, vmax=1,
        cmap="viridis"))
    ctx.run.save_figure(FILES.size_curve.path(), plots.size_curve_figure(size_curve))
    for e, c in circuits.items():
        ctx.run.save_figure(FILES.graph.file(".png", emotion=e), circuit_figure(c, n))
        ctx.run.write_text(FILES.graph.file(".html", emotion=e), "<!doctype html><meta charset='utf-8'>" + circuit_html(c, n))


def _metrics(ctx: RunContext, budget: CircuitBudget, imp: SublayerImportance, circuits: dict[str, Circuit],
             quality: dict, size_curve: dict, overlap: np.ndarray) -> dict:
    sites = [str(ResidSite.at(i)) for i in range(imp.injection.shape[1])]
    mean_inj = imp.injection.mean(dim=0)
    return {
        "budget": {"neurons": vars(budget.neurons), "heads": vars(budget.heads)},
        "reference_segment": ctx.reference.describe(),
        "importance_mean_over_emotions": dict(zip(sites, mean_inj.tolist())),
        "importance_peak": sites[int(mean_inj.argmax())],
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


def run(ctx: RunContext) -> CircuitSet:
    c, info = ctx.cfg.circuit, ctx.model.info
    all_prompts = ctx.discovery_prompts(ctx.elicitation.groups)
    vectors = _vectors(ctx, all_prompts)
    ctx.run.save(FILES.vectors, vectors)
    chosen = per_emotion(all_prompts, ctx.emotions, c.max_prompts)
    pairs = paired_batches(ctx.model, ctx.neutral_prompts(ctx.split(Split.DISCOVERY)), chosen, ctx.cfg.decoding.batch_size)
    imp = sublayer_importance(ctx.model, pairs, ctx.directions, ctx.reference, c.alphas)
    budget = study_budget(info, c.neurons_per_layer, c.head_fraction, c.min_neurons, c.min_heads, c.cap)
    prov = {"model": info.name, "reference_segment": ctx.reference.describe()}

    def build(emotion: str, b: CircuitBudget) -> Circuit:
        return assemble_circuit(emotion, imp, ctx.components, b, info, c.importance, prov)

    circuits = {e: build(e, budget) for e in ctx.emotions}
    for e, circ in circuits.items():
        ctx.run.save(FILES.circuit, circ, emotion=e)
    quality, size_curve = {}, {}
    for e in ctx.emotions:
        quality[e] = _quality(ctx, e, circuits[e], vectors, pairs, imp, c.necessity_draws)
        size_curve[e] = _size_curve(ctx, e, budget, build, vectors, pairs, imp, (circuits[e], quality[e]))
        log.info("circuit %s: %d heads + %d neurons; necessity margin %.3f (z %s); faithfulness %.3f", e,
                 len(circuits[e].heads), len(circuits[e].neurons), quality[e]["necessity"]["margin"],
                 quality[e]["necessity"]["z"], quality[e]["faithfulness"]["ratio"] or float("nan"))
    overlap = np.array([[circuits[a].jaccard(circuits[b]) for b in ctx.emotions] for a in ctx.emotions])
    importance = _importance_table(imp, info.n_layers)
    ctx.run.write_json(FILES.importance.path(), importance)
    _figures(ctx, imp, circuits, overlap, size_curve)
    ctx.run.add_metrics("circuits", _metrics(ctx, budget, imp, circuits, quality, size_curve, overlap))
    return CircuitSet(circuits, vectors, importance)


def load(ctx: RunContext) -> CircuitSet:
    circuits = {e: Circuit.load(ctx.run.path(FILES.circuit.path(emotion=e))) for e in ctx.emotions}
    vectors = InterventionVectors.load(ctx.run.path(FILES.vectors.path()))
    importance = ctx.run.read_json(FILES.importance.path())
    return CircuitSet(circuits, vectors, importance)
