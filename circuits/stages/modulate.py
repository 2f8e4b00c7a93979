"""Stage ``modulate`` (method.md, stage 5): controlling the expressed emotion from the neutral
prompt, every method under one decoding configuration, with fluency measured beside accuracy.

Methods, for every emotion and every (skeleton, valence) of the split:

- ``none``: the neutral prompt, unmodified (the floor);
- ``prompting``: the emotion prompt (the study's prompting baseline);
- ``steering``: the neutral prompt with the emotion's direction added (``steering.*``);
- ``circuit``: the neutral prompt with the emotion's circuit modulated by ``s * dmu``;
- ``random``: the same modulation on a random circuit with the same layer profile (control).

Each reply is judged, and scored for fluency (perplexity under the unmodified model given the
neutral prompt) and repetition. Sweeps of ``s`` and of the steering ``alpha`` trace accuracy
against fluency, so methods can be compared at matched fluency.
"""

from __future__ import annotations

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
from circuits.modulation.circuit_modulation import modulate
from circuits.modulation.steering import default_layers, steer
from circuits.sites import ReadOut
from circuits.stages.elicit import decoding_of
from circuits.viz import plots

log = logging.getLogger(__name__)

DIR = "modulate"
METHODS = ("none", "prompting", "steering", "circuit", "random")


class _Runner:
    """Generates, judges and scores replies of one method for one emotion."""

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
        self.random = {e: random_circuit(c, self.model, rng) for e, c in self.circuits.circuits.items()}

    def context(self, method: str, emotion: str, strength: float):
        ctx, model = self.ctx, self.model
        if method == "steering":
            s = ctx.cfg.steering
            return steer(model, self.directions, emotion, self.steer_layers, strength, Positions(s.positions),
                         ReadOut(s.readout))
        if method in ("circuit", "random"):
            circuit = self.circuits.circuits[emotion] if method == "circuit" else self.random[emotion]
            return modulate(model, circuit, self.circuits.vectors, emotion, strength, self.npos, self.hpos)
        import contextlib

        return contextlib.nullcontext()

    def run(self, method: str, emotion: str, strength: float = 0.0, desc: str = "") -> list[dict]:
        prompts = self.by_emotion[emotion] if method == "prompting" else self.neutral
        with self.context(method, emotion, strength):
            replies = generate(self.model, [p.text for p in prompts], self.decoding, desc=desc,
                               progress=self.ctx.cfg.progress)
        labels = self.judge.classify([r.text for r in replies])
        recs = judged_records(prompts, replies, labels, [emotion] * len(prompts))
        ppl = reply_perplexity(self.model, [p.text for p in self.neutral], [r.token_ids for r in replies],
                               self.ctx.cfg.decoding.batch_size)
        for r, p in zip(recs, ppl):
            r.update(method=method, strength=strength, perplexity=p, distinct_2=distinct_2(r["reply"]),
                     longest_repeat=longest_repeated_ngram(r["reply"]))
        return recs


def _summary(recs: list[dict]) -> dict:
    ppl = [r["perplexity"] for r in recs if r["perplexity"] == r["perplexity"]]
    return {
        "accuracy": round(accuracy(recs), 2),
        "median_perplexity": round(statistics.median(ppl), 4) if ppl else None,
        "distinct_2": round(statistics.fmean(r["distinct_2"] for r in recs), 4),
        "longest_repeat": round(statistics.fmean(r["longest_repeat"] for r in recs), 3),
        "n": len(recs),
    }


def _matched(points: list[dict], limit: float) -> dict | None:
    """The most accurate sweep point whose median perplexity is within ``limit``."""
    ok = [p for p in points if p["median_perplexity"] is not None and p["median_perplexity"] <= limit]
    return max(ok, key=lambda p: (p["accuracy"], -p["median_perplexity"])) if ok else None


def run(ctx) -> dict:
    cfg = ctx.cfg
    m = cfg.modulate
    split = ctx.split(m.split)
    if m.per_theme is not None:
        split = split.subset(m.per_theme, cfg.data.subset_seed)
    runner = _Runner(ctx, split)
    strengths = {"none": 0.0, "prompting": 0.0, "steering": cfg.steering.alpha}
    records: list[dict] = []
    for method in METHODS:
        for emotion in ctx.emotions:
            strength = strengths.get(method, m.scales.get(emotion, 1.0))
            records += runner.run(method, emotion, strength, desc=f"{method} {emotion}")
    ctx.run.write_jsonl(f"{DIR}/replies.jsonl", records)

    by_method = {meth: [r for r in records if r["method"] == meth] for meth in METHODS}
    summary = {meth: _summary(recs) for meth, recs in by_method.items()}
    header = ["method", "accuracy %", "median perplexity", "distinct-2", "longest repeat", "n"]
    rows = [[meth, s["accuracy"], s["median_perplexity"], s["distinct_2"], s["longest_repeat"], s["n"]]
            for meth, s in summary.items()]
    overall_md = write_table(ctx.run, f"{DIR}/methods", header, rows)
    per_emotion = {meth: accuracy_by(recs, "target") for meth, recs in by_method.items()}
    rows_e = [[meth, *[per_emotion[meth].get(e) for e in ctx.emotions], per_emotion[meth]["overall"]] for meth in METHODS]
    emotion_md = write_table(ctx.run, f"{DIR}/by_emotion", ["method", *ctx.emotions, "overall"], rows_e)
    per_valence = {meth: accuracy_by(recs, "valence") for meth, recs in by_method.items()}
    valences = ["positive", "neutral", "negative"]
    rows_v = [[meth, *[per_valence[meth].get(v) for v in valences]] for meth in METHODS]
    valence_md = write_table(ctx.run, f"{DIR}/by_valence", ["method", *valences], rows_v)
    cell = {meth: accuracy_by(recs, "target", "valence") for meth, recs in by_method.items()}

    # accuracy-fluency sweeps on a smaller subset
    sweep_split = split.subset(m.sweep_per_theme, cfg.data.subset_seed) if m.sweep_per_theme else split
    sweep_runner = _Runner(ctx, sweep_split) if sweep_split is not split else runner
    sweeps: dict[str, list[dict]] = {"circuit": [], "steering": []}
    sweep_records = []
    for mult in m.sweep_scales:
        recs = [r for e in ctx.emotions for r in sweep_runner.run("circuit", e, m.scales.get(e, 1.0) * mult,
                                                                    desc=f"sweep s x{mult} {e}")]
        sweeps["circuit"].append({"strength": mult, **_summary(recs)})
        sweep_records += recs
    for alpha in m.sweep_alphas:
        recs = [r for e in ctx.emotions for r in sweep_runner.run("steering", e, alpha, desc=f"sweep alpha {alpha} {e}")]
        sweeps["steering"].append({"strength": alpha, **_summary(recs)})
        sweep_records += recs
    ctx.run.write_jsonl(f"{DIR}/sweep_replies.jsonl", sweep_records)
    base_ppl = summary["none"]["median_perplexity"]
    limit = m.fluency_factor * base_ppl if base_ppl else float("inf")
    matched = {k: _matched(v, limit) for k, v in sweeps.items()}
    sweep_md = markdown(["method", "strength", "accuracy %", "median perplexity", "distinct-2"],
                        [[k, p["strength"], p["accuracy"], p["median_perplexity"], p["distinct_2"]]
                         for k, pts in sweeps.items() for p in pts])
    ctx.run.write_text(f"{DIR}/sweep.md", sweep_md)
    fig = plots.tradeoff_figure(sweeps, {k: summary[k] for k in ("none", "prompting", "random")}, limit,
                                f"{ctx.model.name}: emotion accuracy vs fluency (neutral prompt)")
    ctx.run.save_figure(f"{DIR}/accuracy_fluency.png", fig)
    ctx.run.save_figure(f"{DIR}/by_emotion.png", plots.bars_figure(
        {e: {meth: per_emotion[meth].get(e, 0.0) for meth in METHODS} for e in ctx.emotions},
        "emotion-expression accuracy by method", "accuracy %"))
    metrics = {
        "methods": summary,
        "by_emotion": {meth: {e: per_emotion[meth].get(e) for e in ctx.emotions} for meth in METHODS},
        "by_valence": {meth: {v: per_valence[meth].get(v) for v in valences} for meth in METHODS},
        "by_emotion_valence": {meth: {e: {v: cell[meth][e][v] for v in valences} for e in ctx.emotions if e in cell[meth]}
                               for meth in METHODS},
        "circuit_perplexity_ratio": (summary["circuit"]["median_perplexity"] / base_ppl) if base_ppl else None,
        "fluency_limit": limit,
        "sweeps": sweeps,
        "matched_fluency": matched,
        "scales": dict(m.scales),
        "steering_layers": runner.steer_layers,
        "n_prompts_per_emotion": len(runner.neutral),
    }
    ctx.run.add_metrics("modulate", metrics)
    log.info("modulation, neutral prompt:\n%s\n%s\n%s\nsweeps:\n%s", overall_md, emotion_md, valence_md, sweep_md)
    return metrics
