"""Stage ``steer``: the steering baseline on neutral prompts (method.md, stage 2).

For each emotion, every neutral prompt of the split is answered with that emotion's direction
added to the residual stream (:mod:`circuits.modulation.steering`), and the replies are judged
against the emotion. The unsteered replies to the same prompts are judged too, as the floor.
"""

from __future__ import annotations

import logging

from circuits.data.prompts import Template, build_prompts
from circuits.evaluation.accuracy import accuracy_by, generate_and_judge, label_counts
from circuits.evaluation.tables import emotion_by_valence, write_table
from circuits.interventions import Positions
from circuits.modulation.steering import default_layers, steer
from circuits.sites import ReadOut
from circuits.stages.elicit import decoding_of

log = logging.getLogger(__name__)


def run(ctx) -> dict:
    cfg, model, judge = ctx.cfg, ctx.model, ctx.judge
    directions = ctx.result("directions")
    s = cfg.steering
    layers = list(s.layers) if s.layers else default_layers(model.info.n_layers)
    prompts = build_prompts(model.render_chat, ctx.split(s.split), [None], Template(cfg.model.template))
    decoding = decoding_of(cfg)
    base = generate_and_judge(model, judge, prompts, decoding, desc="unsteered", progress=cfg.progress)
    records = []
    for emotion in ctx.emotions:
        with steer(model, directions, emotion, layers, s.alpha, Positions(s.positions), ReadOut(s.readout)):
            recs = generate_and_judge(model, judge, prompts, decoding, targets=[emotion] * len(prompts),
                                      desc=f"steering {emotion}", progress=cfg.progress)
        records += recs
    ctx.run.write_jsonl("steer/replies.jsonl", [dict(r, method="steering") for r in records]
                        + [dict(r, method="none") for r in base])
    table = accuracy_by(records, "target", "valence")
    header, rows = emotion_by_valence(table, ctx.emotions)
    md = write_table(ctx.run, "steer/accuracy", header, rows)
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
