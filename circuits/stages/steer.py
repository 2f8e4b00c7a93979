"""Stage ``steer``: the steering baseline on neutral prompts (the study's stage 2).

For each emotion, every neutral prompt of the split is answered with that emotion's direction
added to the residual stream (:mod:`circuits.modulation.steering`), and the replies are judged
against the emotion. The unsteered replies to the same prompts are judged too, as the floor.
"""

from __future__ import annotations

import logging

from circuits import layout
from circuits.evaluation.accuracy import accuracy_by, generate_and_judge, label_counts
from circuits.evaluation.tables import emotion_by_valence, write_table
from circuits.modulation.steering import steer
from circuits.stages.context import RunContext
from circuits.vocab import Method

log = logging.getLogger(__name__)

FILES = layout.STEER


def run(ctx: RunContext) -> dict:
    cfg, model, judge = ctx.cfg, ctx.model, ctx.judge
    s = cfg.steering
    layers = ctx.steering_layers
    prompts = ctx.neutral_prompts(ctx.split(s.split))
    base = generate_and_judge(model, judge, prompts, ctx.decoding, desc="unsteered", progress=cfg.progress)
    records = []
    for emotion in ctx.emotions:
        with steer(model, ctx.directions, emotion, layers, s.alpha, s.positions, s.readout):
            records += generate_and_judge(model, judge, prompts, ctx.decoding, targets=[emotion] * len(prompts),
                                          desc=f"steering {emotion}", progress=cfg.progress)
    ctx.run.write_jsonl(FILES.replies.path(), [r.with_(method=Method.STEERING) for r in records]
                        + [r.with_(method=Method.NONE) for r in base])
    table = accuracy_by(records, "target", "valence")
    header, rows = emotion_by_valence(table, ctx.emotions)
    md = write_table(ctx.run, FILES.accuracy.path(), header, rows)
    log.info("steering accuracy (layers %s, alpha %s):\n%s", layers, s.alpha, md)
    metrics = {
        "layers": layers,
        "alpha": s.alpha,
        "positions": s.positions,
        "accuracy": table["overall"],
        "by_emotion": {e: table[e]["overall"] for e in ctx.emotions},
        "by_emotion_valence": {e: {v: table[e][v] for v in table[e] if v != "overall"} for e in ctx.emotions},
        "unsteered_labels": label_counts(base),
        "n_prompts_per_emotion": len(prompts),
    }
    ctx.run.add_metrics("steer", metrics)
    return metrics


def load(ctx: RunContext) -> dict:
    """The finished stage's metrics (what ``run`` returns), read back from ``metrics.json``."""
    return ctx.run.metrics["steer"]
