"""Stage ``modulate`` (the study's stage 5): controlling the expressed emotion from the neutral
prompt, every method under one decoding configuration, fluency measured beside accuracy.

The methods are the registry of :mod:`circuits.modulation.methods` (no intervention, prompting,
steering, circuit, study-style circuit, random circuits), compared for every emotion and every
(skeleton, valence) of the split by :class:`~circuits.modulation.comparison.Comparison`.

Fairness: with ``modulate.calibrate`` each method's per-emotion strength is chosen on the
*discovery* split from a grid, by one rule for all (the most accurate setting whose median
perplexity stays within ``fluency_factor`` x the unmodified replies'), then frozen for the test
split. Each reply is judged and scored for perplexity (unmodified model, neutral prompt) and
repetition; sweeps of the chosen strengths trace accuracy against fluency.
"""

from __future__ import annotations

import itertools
import logging
import random
from collections.abc import Sequence

from circuits import layout
from circuits.circuit.quality import random_circuit
from circuits.data.prompts import stratified_order
from circuits.data.sev import SEVSplit
from circuits.emotions import VALENCES
from circuits.evaluation.accuracy import accuracy, accuracy_by
from circuits.evaluation.records import JudgedReply
from circuits.evaluation.tables import markdown, write_table
from circuits.modulation.calibration import calibrate as search
from circuits.modulation.calibration import fluency_limit
from circuits.modulation.circuit_modulation import Strength
from circuits.modulation.comparison import Comparison, choose, summarise
from circuits.modulation.methods import METHODS, Controls, control_methods
from circuits.stages.context import RunContext
from circuits.viz import plots
from circuits.vocab import Anchor, Method, Search, Split

log = logging.getLogger(__name__)

FILES = layout.MODULATE
Strengths = dict[Method, dict[str, object]]
"""Per method, each emotion's strength (a float, or a circuit :class:`Strength`)."""


def _reply_on(ctx: RunContext) -> bool:
    """Reply-phase vectors are used when asked for and available (they need elicited replies)."""
    return bool(ctx.cfg.modulate.reply_vectors and ctx.circuits.vectors.reply_neurons is not None)


def _controls(ctx: RunContext) -> Controls:
    m, s = ctx.cfg.modulate, ctx.cfg.steering
    circuits = ctx.circuits
    rng = random.Random(ctx.cfg.seed)
    draws = [{e: random_circuit(c, ctx.model.info, rng) for e, c in circuits.circuits.items()}
             for _ in range(m.random_draws)]
    vectors = ctx.anchored_vectors if m.anchor is Anchor.NEUTRAL else circuits.vectors
    return Controls(ctx.directions, circuits.circuits, circuits.vectors, vectors, draws, ctx.steering_layers,
                    s.positions, s.readout, m.neuron_positions, m.head_positions)


def comparison(ctx: RunContext, split: SEVSplit, stratified: bool = False) -> Comparison:
    """Every control method on the neutral and emotion prompts of ``split`` (with ``stratified``,
    in an order whose every prefix spans the themes, for an adaptive search)."""
    neutral = ctx.neutral_prompts(split)
    by_emotion = {e: ctx.prompts(split, [e]) for e in ctx.emotions}
    if stratified:
        order = stratified_order(neutral, ctx.cfg.seed)
        neutral = [neutral[i] for i in order]
        by_emotion = {e: [ps[i] for i in order] for e, ps in by_emotion.items()}
    return Comparison(ctx.model, ctx.judge, neutral, by_emotion, ctx.decoding, control_methods(_controls(ctx)),
                      ctx.cfg.progress)


def _replies_of(comp: Comparison, wanted: Sequence[tuple[Method, str, object]], desc: str) -> list[list[JudgedReply]]:
    """The replies of each (method, emotion, strength), a drawn method's draws pooled, all in one
    batched call."""
    groups = [comp.settings(method, emotion, strength) for method, emotion, strength in wanted]
    results = iter(comp.run([s for g in groups for s in g], desc=desc))
    return [[r for _ in g for r in next(results)] for g in groups]


def _candidates(ctx: RunContext) -> dict[tuple[Method, str], list]:
    m = ctx.cfg.modulate
    grids = {
        Method.STEERING: list(m.alpha_grid),
        Method.CIRCUIT: [Strength(p, r, _reply_on(ctx), k)
                         for p, r, k in itertools.product(m.prompt_scale_grid, m.reply_scale_grid, m.reply_steps_grid)],
        Method.CIRCUIT_STUDY: [Strength.study(s) for s in m.study_scale_grid],
    }
    return {(method, e): grid for method, grid in grids.items() for e in ctx.emotions}


def calibrate(ctx: RunContext) -> Strengths:
    """Per-emotion strengths of steering, circuit and circuit_study chosen on the discovery split
    (``modulate.search``: the grid, or successive halving), by the one rule."""
    m = ctx.cfg.modulate
    comp = comparison(ctx, ctx.split(Split.DISCOVERY).subset(m.calibrate_per_theme, ctx.cfg.data.subset_seed),
                      stratified=m.search is Search.HALVING)
    limit, base = fluency_limit(comp, ctx.emotions, m.fluency_factor)
    chosen = search(comp, _candidates(ctx), limit, m.search, m.halving_rate, m.halving_first, m.ties)
    table = [[method, emotion, str(c.strength), c.stats["accuracy"], c.stats["median_perplexity"], c.candidates, c.replies]
             for (method, emotion), c in chosen.items()]
    ctx.run.write_text(FILES.calibration.path(), markdown(
        ["method", "emotion", "chosen strength", "accuracy % (discovery)", "median perplexity", "candidates",
         "replies generated"], table)
        + f"\nSearch: {m.search}, ties: {m.ties}. Fluency limit: median perplexity <= {limit:.3f} "
          f"({m.fluency_factor} x unmodified {base['median_perplexity']:.3f}).\n")
    strengths: Strengths = {}
    for (method, emotion), c in chosen.items():
        strengths.setdefault(method, {})[emotion] = c.strength
    return strengths


def fixed_strengths(ctx: RunContext) -> Strengths:
    """Each emotion's strength without calibration (``steering.alpha``, ``modulate.scales`` ...)."""
    m = ctx.cfg.modulate
    return {
        Method.STEERING: {e: ctx.cfg.steering.alpha for e in ctx.emotions},
        Method.CIRCUIT: {e: Strength(m.scales.get(e, 1.0), m.reply_scales.get(e, 1.0), _reply_on(ctx), m.reply_steps)
                         for e in ctx.emotions},
        Method.CIRCUIT_STUDY: {e: Strength.study(m.scales.get(e, 1.0)) for e in ctx.emotions},
    }


def _with_borrowed(strengths: Strengths) -> Strengths:
    """Every method's strengths: its own, another method's it borrows, or none."""
    out: Strengths = {}
    for method, cls in METHODS.items():
        own = cls.borrows or method
        out[method] = strengths.get(own, {}) if cls.takes_strength else {}
    return out


def _scaled(strength: object, k: float) -> object:
    return strength.times(k) if isinstance(strength, Strength) else strength * k


def _tables(ctx: RunContext, by_method: dict[Method, list[JudgedReply]]) -> tuple[dict, str]:
    """The headline tables (methods, by emotion, by valence) and the markdown of all three."""
    summary = {meth: summarise(recs) for meth, recs in by_method.items()}
    base_ppl = summary[Method.NONE]["median_perplexity"]
    rows = [[meth, s["accuracy"], s["median_perplexity"], round(s["median_perplexity"] / base_ppl, 2) if base_ppl else None,
             s["distinct_2"], s["longest_repeat"], s["top_opening"], s["corpus_distinct_2"], s["n"]]
            for meth, s in summary.items()]
    md = write_table(ctx.run, FILES.methods.path(), ["method", "accuracy %", "median perplexity", "x unmodified",
                                                     "distinct-2", "longest repeat", "top opening %",
                                                     "corpus distinct-2", "n"], rows)
    per_emotion = {meth: accuracy_by(recs, "target") for meth, recs in by_method.items()}
    md += write_table(ctx.run, FILES.by_emotion.path(), ["method", *ctx.emotions, "overall"],
                      [[meth, *[per_emotion[meth].get(e) for e in ctx.emotions], per_emotion[meth]["overall"]]
                       for meth in by_method])
    per_valence = {meth: accuracy_by(recs, "valence") for meth, recs in by_method.items()}
    md += write_table(ctx.run, FILES.by_valence.path(), ["method", *VALENCES],
                      [[meth, *[per_valence[meth].get(v) for v in VALENCES]] for meth in by_method])
    cell = {meth: accuracy_by(recs, "target", "valence") for meth, recs in by_method.items()}
    ctx.run.save_figure(FILES.by_emotion.file(".png"), plots.bars_figure(
        {e: {str(meth): per_emotion[meth].get(e, 0.0) for meth in by_method} for e in ctx.emotions},
        "emotion-expression accuracy by method (neutral prompt unless prompting)", "accuracy %"))
    tables = {
        "methods": summary,
        "by_emotion": {meth: {e: per_emotion[meth].get(e) for e in ctx.emotions} for meth in by_method},
        "by_valence": {meth: {v: per_valence[meth].get(v) for v in VALENCES} for meth in by_method},
        "by_emotion_valence": {meth: {e: {v: cell[meth][e][v] for v in VALENCES} for e in ctx.emotions if e in cell[meth]}
                               for meth in by_method},
        "perplexity_ratio": {meth: (s["median_perplexity"] / base_ppl if base_ppl else None) for meth, s in summary.items()},
    }
    return tables, md


def _sweeps(ctx: RunContext, headline: Comparison, split: SEVSplit, strengths: Strengths,
            records: list[JudgedReply]) -> tuple[dict, dict, str]:
    """Accuracy and fluency at multiples of the chosen strengths (circuit and steering), the
    point of each within the fluency limit, and the sweep table's markdown."""
    m = ctx.cfg.modulate
    comp = comparison(ctx, split.subset(m.sweep_per_theme, ctx.cfg.data.subset_seed) if m.sweep_per_theme else split)
    same_prompts = [p.text for p in comp.neutral] == [p.text for p in headline.neutral]
    points = [(method, mult) for method in (Method.CIRCUIT, Method.STEERING) for mult in m.sweep_multipliers]
    fresh = [(method, mult) for method, mult in points if not (mult == 1 and same_prompts)]
    wanted = [(method, e, _scaled(strengths[method][e], mult)) for method, mult in fresh for e in ctx.emotions]
    replies = iter(_replies_of(comp, wanted, "sweep"))
    swept = {point: [r for _ in ctx.emotions for r in next(replies)] for point in fresh}
    sweeps: dict[Method, list[dict]] = {Method.CIRCUIT: [], Method.STEERING: []}
    sweep_records = []
    for method, mult in points:
        # at x1 on the headline's prompts, the headline run already generated exactly these replies
        recs = swept[method, mult] if (method, mult) in swept else [r for r in records if r.method is method]
        sweeps[method].append({"strength": mult, **summarise(recs)})
        sweep_records += [r.with_(multiplier=mult) for r in recs]
    ctx.run.write_jsonl(FILES.sweep_replies.path(), sweep_records)
    md = markdown(["method", "x chosen strength", "accuracy %", "median perplexity", "distinct-2", "top opening %"],
                  [[k, p["strength"], p["accuracy"], p["median_perplexity"], p["distinct_2"], p["top_opening"]]
                   for k, pts in sweeps.items() for p in pts])
    ctx.run.write_text(FILES.sweep.path(), md)
    base = summarise([r for rs in _replies_of(headline if same_prompts else comp,
                                              [(Method.NONE, e, None) for e in ctx.emotions], "sweep") for r in rs])
    limit = m.fluency_factor * base["median_perplexity"]
    matched = {k: choose([(p["strength"], p) for p in pts], limit)[1] for k, pts in sweeps.items()}
    ctx.run.save_figure(FILES.tradeoff.path(), plots.tradeoff_figure(
        {str(k): v for k, v in sweeps.items()}, {"none": base}, limit,
        f"{ctx.model.name}: accuracy vs fluency, neutral prompt (x = multiple of chosen strength)"))
    return sweeps, matched, md


def run(ctx: RunContext) -> dict:
    m = ctx.cfg.modulate
    strengths = _with_borrowed(calibrate(ctx) if m.calibrate else fixed_strengths(ctx))
    split = ctx.split_of(m.split, m.per_theme)
    headline = comparison(ctx, split)
    wanted = [(method, e, strengths[method].get(e)) for method in METHODS for e in ctx.emotions]
    records = [r for rs in _replies_of(headline, wanted, "comparing methods") for r in rs]
    ctx.run.write_jsonl(FILES.replies.path(), records)
    by_method = {meth: [r for r in records if r.method is meth] for meth in METHODS}
    tables, md = _tables(ctx, by_method)
    sweeps, matched, sweep_md = _sweeps(ctx, headline, split, strengths, records)
    base_ppl = tables["methods"][Method.NONE]["median_perplexity"]
    metrics = {
        **tables,
        "fluency_limit": m.fluency_factor * base_ppl if base_ppl else float("inf"),
        "strengths": {meth: {e: str(v) for e, v in table.items()} for meth, table in strengths.items() if table},
        "calibrated": bool(m.calibrate),
        "reply_vectors": _reply_on(ctx),
        "anchor": m.anchor,
        "random_by_draw": {d: accuracy([r for r in by_method[Method.RANDOM] if r.draw == d]) for d in range(m.random_draws)},
        "sweeps": sweeps,
        "matched_fluency": matched,
        "steering_layers": ctx.steering_layers,
        "n_prompts_per_emotion": len(headline.neutral),
    }
    ctx.run.add_metrics("modulate", metrics)
    log.info("modulation, neutral prompt:\n%s\nsweeps:\n%s", md, sweep_md)
    return metrics


def load(ctx: RunContext) -> dict:
    """The finished stage's metrics (what ``run`` returns), read back from ``metrics.json``."""
    return ctx.run.metrics["modulate"]
