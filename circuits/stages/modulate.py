"""Stage ``modulate`` (method.md, stage 5): controlling the expressed emotion from the neutral
prompt, every method under one decoding configuration, fluency measured beside accuracy.

Methods, for every emotion and every (skeleton, valence) of the split:

- ``none``: the neutral prompt, unmodified (the floor);
- ``prompting``: the emotion prompt (the study's prompting baseline);
- ``steering``: the neutral prompt with the emotion's direction added (``steering.*``);
- ``circuit``: the neutral prompt with the emotion's circuit modulated, the study's position
  policy, reply-phase ``dmu`` in decoding steps (``modulate.reply_vectors``), for every step or
  only the first few (an onset push, ``modulate.reply_steps_grid``), the prompt-phase ``dmu``
  centred on the group or anchored on the neutral prompt (``modulate.anchor``);
- ``circuit_study``: the same circuit modulated exactly as the study does (last-prompt-token
  ``dmu`` everywhere, one ``s``);
- ``random``: ``circuit``'s modulation on random circuits with the same layer profile and no
  node of the circuit (``modulate.random_draws`` draws per emotion, their replies pooled).

Fairness: with ``modulate.calibrate`` each method's per-emotion strength is chosen on the
*discovery* split from a grid, by one rule for all (the most accurate setting whose median
perplexity stays within ``fluency_factor`` x the unmodified replies'), then frozen for the test
split. Each reply is judged and scored for perplexity (unmodified model, neutral prompt) and
repetition; sweeps of the chosen strengths trace accuracy against fluency.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import random
import statistics

from circuits.circuit.quality import random_circuit
from circuits.data.prompts import Template, build_prompts
from circuits.evaluation.accuracy import accuracy, accuracy_by, judged_records
from circuits.evaluation.fluency import distinct_2, longest_repeated_ngram, reply_perplexity
from circuits.evaluation.tables import markdown, write_table
from circuits.generation import generate
from circuits.interventions import Positions
from circuits.modulation.circuit_modulation import Strength, modulate
from circuits.modulation.steering import default_layers, steer
from circuits.modulation.vectors import InterventionVectors, neutral_anchored
from circuits.sites import ReadOut
from circuits.stages.directions import discovery_prompts
from circuits.stages.elicit import decoding_of
from circuits.viz import plots

log = logging.getLogger(__name__)

DIR = "modulate"
METHODS = ("none", "prompting", "steering", "circuit", "circuit_study", "random")
VALENCES = ("positive", "neutral", "negative")


class Runner:
    """Generates, judges and scores the replies of one method for one emotion on one split."""

    def __init__(self, ctx, split):
        cfg = ctx.cfg
        self.ctx, self.model, self.judge = ctx, ctx.model, ctx.judge
        template = Template(cfg.model.template)
        self.neutral = build_prompts(self.model.render_chat, split, [None], template)
        self.by_emotion = {e: build_prompts(self.model.render_chat, split, [e], template) for e in ctx.emotions}
        self.decoding = decoding_of(cfg)
        s = cfg.steering
        self.steer_layers = list(s.layers) if s.layers else default_layers(self.model.info.n_layers)
        self.circuits = ctx.result("circuits")
        self.directions = ctx.result("directions")
        m = cfg.modulate
        self.npos, self.hpos = Positions(m.neuron_positions), Positions(m.head_positions)
        rng = random.Random(cfg.seed)
        self.random_draws = [{e: random_circuit(c, self.model, rng) for e, c in self.circuits.circuits.items()}
                             for _ in range(m.random_draws)]
        self.vectors = anchored_vectors(ctx) if m.anchor == "neutral" else self.circuits.vectors
        """``circuit`` and ``random``'s vectors (``circuit_study`` keeps the study's)."""
        self._unmodified: tuple | None = None
        """The neutral prompts' unmodified replies, labels and perplexities: the same for every
        target emotion (greedy decoding), so generated once."""

    def context(self, method: str, emotion: str, strength, draw: int = 0):
        model = self.model
        if method == "steering":
            s = self.ctx.cfg.steering
            return steer(model, self.directions, emotion, self.steer_layers, strength, Positions(s.positions),
                         ReadOut(s.readout))
        if method in ("circuit", "circuit_study", "random"):
            circuit = self.random_draws[draw][emotion] if method == "random" else self.circuits.circuits[emotion]
            vectors = self.circuits.vectors if method == "circuit_study" else self.vectors
            return modulate(model, circuit, vectors, emotion, strength, self.npos, self.hpos)
        return contextlib.nullcontext()

    def run(self, method: str, emotion: str, strength=0.0, desc: str = "") -> list[dict]:
        if method != "random":
            return self._run(method, emotion, strength, desc)
        return [dict(r, draw=d) for d in range(len(self.random_draws))
                for r in self._run(method, emotion, strength, f"{desc} draw {d}", d)]

    def _run(self, method: str, emotion: str, strength, desc: str, draw: int = 0) -> list[dict]:
        prompts = self.by_emotion[emotion] if method == "prompting" else self.neutral
        if method == "none" and self._unmodified is not None:
            replies, labels, ppl = self._unmodified
        else:
            with self.context(method, emotion, strength, draw):
                replies = generate(self.model, [p.text for p in prompts], self.decoding, desc=desc,
                                   progress=self.ctx.cfg.progress)
            labels = self.judge.classify([r.text for r in replies])
            ppl = reply_perplexity(self.model, [p.text for p in self.neutral], [r.token_ids for r in replies],
                                   self.ctx.cfg.decoding.batch_size)
            if method == "none":
                self._unmodified = (replies, labels, ppl)
        recs = judged_records(prompts, replies, labels, [emotion] * len(prompts))
        for r, p in zip(recs, ppl):
            r.update(method=method, strength=str(strength), perplexity=p, distinct_2=distinct_2(r["reply"]),
                     longest_repeat=longest_repeated_ngram(r["reply"]))
        return recs


def anchored_vectors(ctx) -> InterventionVectors:
    """The circuits' vectors with neutral-anchored prompt-phase ``dmu`` (read from the discovery
    groups the circuits stage used, once per run and saved beside the replies)."""
    if "anchored_vectors" not in ctx.cache:
        model = ctx.model
        emotional = discovery_prompts(ctx, ctx.result("elicit").groups)
        neutral = build_prompts(model.render_chat, ctx.split("discovery"), [None], Template(ctx.cfg.model.template))
        neurons, heads, n = neutral_anchored(model, emotional, neutral, ctx.emotions, ctx.cfg.decoding.batch_size)
        vectors = ctx.result("circuits").vectors.with_prompt(neurons, heads, n)
        vectors.save(ctx.run.path(f"{DIR}/anchored_vectors"))
        ctx.run.adopt(f"{DIR}/anchored_vectors.safetensors")
        ctx.run.adopt(f"{DIR}/anchored_vectors.json")
        log.info("neutral-anchored prompt-phase vectors from %d groups", n)
        ctx.cache["anchored_vectors"] = vectors
    return ctx.cache["anchored_vectors"]


def summarise(recs: list[dict]) -> dict:
    ppl = [r["perplexity"] for r in recs if r["perplexity"] == r["perplexity"]]
    return {
        "accuracy": round(accuracy(recs), 2),
        "median_perplexity": round(statistics.median(ppl), 4) if ppl else None,
        "distinct_2": round(statistics.fmean(r["distinct_2"] for r in recs), 4) if recs else None,
        "longest_repeat": round(statistics.fmean(r["longest_repeat"] for r in recs), 3) if recs else None,
        "n": len(recs),
    }


def choose(candidates: list[tuple[object, dict]], limit: float):
    """The one rule for every method: most accurate within the fluency limit (ties: lower
    perplexity); if nothing is within the limit, the most fluent candidate."""
    ok = [(s, m) for s, m in candidates if m["median_perplexity"] is not None and m["median_perplexity"] <= limit]
    if ok:
        return max(ok, key=lambda sm: (sm[1]["accuracy"], -sm[1]["median_perplexity"]))
    return min(candidates, key=lambda sm: sm[1]["median_perplexity"] or float("inf"))


def calibrate(ctx) -> dict:
    """Per-emotion strengths of steering, circuit and circuit_study chosen on the discovery split."""
    m = ctx.cfg.modulate
    runner = Runner(ctx, ctx.split("discovery").subset(m.calibrate_per_theme, ctx.cfg.data.subset_seed))
    base = summarise([r for e in ctx.emotions for r in runner.run("none", e, desc=f"calibrate none {e}")])
    limit = m.fluency_factor * base["median_perplexity"]
    grids = {
        "steering": list(m.alpha_grid),
        "circuit": [Strength(p, r, _reply_on(ctx), k)
                    for p, r, k in itertools.product(m.prompt_scale_grid, m.reply_scale_grid, m.reply_steps_grid)],
        "circuit_study": [Strength.study(s) for s in m.study_scale_grid],
    }
    chosen: dict = {k: {} for k in grids}
    table = []
    for method, grid in grids.items():
        for emotion in ctx.emotions:
            cands = [(s, summarise(runner.run(method, emotion, s, desc=f"calibrate {method} {emotion} {s}"))) for s in grid]
            best, stats = choose(cands, limit)
            chosen[method][emotion] = best
            table.append([method, emotion, str(best), stats["accuracy"], stats["median_perplexity"]])
    ctx.run.write_text(f"{DIR}/calibration.md", markdown(["method", "emotion", "chosen strength", "accuracy % (discovery)",
                                                         "median perplexity"], table)
                       + f"\nFluency limit: median perplexity <= {limit:.3f} ({m.fluency_factor} x unmodified {base['median_perplexity']:.3f}).\n")
    return {"strengths": chosen, "limit": limit, "base": base}


def fixed_strengths(ctx) -> dict:
    m = ctx.cfg.modulate
    return {
        "steering": {e: ctx.cfg.steering.alpha for e in ctx.emotions},
        "circuit": {e: Strength(m.scales.get(e, 1.0), m.reply_scales.get(e, 1.0), _reply_on(ctx), m.reply_steps)
                    for e in ctx.emotions},
        "circuit_study": {e: Strength.study(m.scales.get(e, 1.0)) for e in ctx.emotions},
    }


def _reply_on(ctx) -> bool:
    """Reply-phase vectors are used when asked for and available (they need elicited replies)."""
    return bool(ctx.cfg.modulate.reply_vectors and ctx.result("circuits").vectors.reply_neurons is not None)


def _scaled(strength, k):
    return strength.times(k) if isinstance(strength, Strength) else strength * k


def run(ctx) -> dict:
    cfg = ctx.cfg
    m = cfg.modulate
    if m.calibrate:
        cal = calibrate(ctx)
        strengths = cal["strengths"]
    else:
        cal, strengths = None, fixed_strengths(ctx)
    strengths["random"] = strengths["circuit"]
    split = ctx.split_of(m.split, m.per_theme)
    runner = Runner(ctx, split)
    records: list[dict] = []
    for method in METHODS:
        for emotion in ctx.emotions:
            records += runner.run(method, emotion, strengths.get(method, {}).get(emotion, 0.0), desc=f"{method} {emotion}")
    ctx.run.write_jsonl(f"{DIR}/replies.jsonl", records)

    by_method = {meth: [r for r in records if r["method"] == meth] for meth in METHODS}
    summary = {meth: summarise(recs) for meth, recs in by_method.items()}
    base_ppl = summary["none"]["median_perplexity"]
    limit = m.fluency_factor * base_ppl if base_ppl else float("inf")
    header = ["method", "accuracy %", "median perplexity", "x unmodified", "distinct-2", "longest repeat", "n"]
    rows = [[meth, s["accuracy"], s["median_perplexity"], round(s["median_perplexity"] / base_ppl, 2) if base_ppl else None,
             s["distinct_2"], s["longest_repeat"], s["n"]] for meth, s in summary.items()]
    overall_md = write_table(ctx.run, f"{DIR}/methods", header, rows)
    per_emotion = {meth: accuracy_by(recs, "target") for meth, recs in by_method.items()}
    emotion_md = write_table(ctx.run, f"{DIR}/by_emotion", ["method", *ctx.emotions, "overall"],
                             [[meth, *[per_emotion[meth].get(e) for e in ctx.emotions], per_emotion[meth]["overall"]]
                              for meth in METHODS])
    per_valence = {meth: accuracy_by(recs, "valence") for meth, recs in by_method.items()}
    valence_md = write_table(ctx.run, f"{DIR}/by_valence", ["method", *VALENCES],
                             [[meth, *[per_valence[meth].get(v) for v in VALENCES]] for meth in METHODS])
    cell = {meth: accuracy_by(recs, "target", "valence") for meth, recs in by_method.items()}

    sweep_split = split.subset(m.sweep_per_theme, cfg.data.subset_seed) if m.sweep_per_theme else split
    sweep_runner = Runner(ctx, sweep_split)
    sweeps: dict[str, list[dict]] = {"circuit": [], "steering": []}
    sweep_records = []
    same_prompts = [p.text for p in sweep_runner.neutral] == [p.text for p in runner.neutral]
    for method in sweeps:
        for mult in m.sweep_multipliers:
            if mult == 1 and same_prompts:  # the headline run already generated exactly these replies
                recs = [r for r in records if r["method"] == method]
            else:
                recs = [r for e in ctx.emotions for r in
                        sweep_runner.run(method, e, _scaled(strengths[method][e], mult), desc=f"sweep {method} x{mult} {e}")]
            sweeps[method].append({"strength": mult, **summarise(recs)})
            sweep_records += [dict(r, multiplier=mult) for r in recs]
    ctx.run.write_jsonl(f"{DIR}/sweep_replies.jsonl", sweep_records)
    sweep_md = markdown(["method", "x chosen strength", "accuracy %", "median perplexity", "distinct-2"],
                        [[k, p["strength"], p["accuracy"], p["median_perplexity"], p["distinct_2"]]
                         for k, pts in sweeps.items() for p in pts])
    ctx.run.write_text(f"{DIR}/sweep.md", sweep_md)
    sweep_base = summarise([r for e in ctx.emotions for r in
                            (runner if same_prompts else sweep_runner).run("none", e, desc=f"sweep none {e}")])
    sweep_limit = m.fluency_factor * sweep_base["median_perplexity"]
    matched = {k: choose([(p["strength"], p) for p in pts], sweep_limit)[1] for k, pts in sweeps.items()}
    fig = plots.tradeoff_figure(sweeps, {"none": sweep_base}, sweep_limit,
                                f"{ctx.model.name}: accuracy vs fluency, neutral prompt (x = multiple of chosen strength)")
    ctx.run.save_figure(f"{DIR}/accuracy_fluency.png", fig)
    ctx.run.save_figure(f"{DIR}/by_emotion.png", plots.bars_figure(
        {e: {meth: per_emotion[meth].get(e, 0.0) for meth in METHODS} for e in ctx.emotions},
        "emotion-expression accuracy by method (neutral prompt unless prompting)", "accuracy %"))
    metrics = {
        "methods": summary,
        "by_emotion": {meth: {e: per_emotion[meth].get(e) for e in ctx.emotions} for meth in METHODS},
        "by_valence": {meth: {v: per_valence[meth].get(v) for v in VALENCES} for meth in METHODS},
        "by_emotion_valence": {meth: {e: {v: cell[meth][e][v] for v in VALENCES} for e in ctx.emotions if e in cell[meth]}
                               for meth in METHODS},
        "perplexity_ratio": {meth: (s["median_perplexity"] / base_ppl if base_ppl else None) for meth, s in summary.items()},
        "fluency_limit": limit,
        "strengths": {meth: {e: str(v) for e, v in table.items()} for meth, table in strengths.items()},
        "calibrated": bool(m.calibrate),
        "reply_vectors": _reply_on(ctx),
        "anchor": m.anchor,
        "random_by_draw": {d: accuracy([r for r in by_method["random"] if r["draw"] == d])
                           for d in range(m.random_draws)},
        "sweeps": sweeps,
        "matched_fluency": matched,
        "steering_layers": runner.steer_layers,
        "n_prompts_per_emotion": len(runner.neutral),
    }
    ctx.run.add_metrics("modulate", metrics)
    log.info("modulation, neutral prompt:\n%s\n%s\n%s\nsweeps:\n%s", overall_md, emotion_md, valence_md, sweep_md)
    return metrics
