"""Stage ``elicit`` (method.md, stage 1): emotion-prompted replies, judged.

For each split and prompt template: one greedy reply per emotion prompt, judged; accuracy by
emotion x valence (this is the *prompting* baseline of the control experiments). On the
discovery split with the model's template, the (skeleton, valence) groups whose six replies
were all accepted are *complete*; the directions stage uses them (or every group when
``elicit.filter`` is off, for weak models that express few emotions).
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import dataclass

from circuits.data.prompts import Template, build_prompts
from circuits.evaluation.accuracy import accuracy_by, generate_and_judge, judge_agreement, label_counts
from circuits.evaluation.judges import NRCJudge
from circuits.evaluation.tables import emotion_by_valence, write_table
from circuits.generation import Decoding

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Elicitation:
    """Judged replies per ``split/template`` and the groups kept for the directions."""

    records: dict[str, list[dict]]
    groups: tuple[tuple[str, str], ...]
    """(skeleton_id, valence) groups of the discovery split used downstream."""
    key: str
    """The ``split/template`` whose groups are used (discovery, model template)."""


def decoding_of(cfg) -> Decoding:
    d = cfg.decoding
    return Decoding(max_new_tokens=d.max_new_tokens, batch_size=d.batch_size, greedy=d.greedy,
                    temperature=d.temperature, top_p=d.top_p, seed=cfg.seed)


def complete_groups(records: list[dict], n_emotions: int) -> list[tuple[str, str]]:
    """Groups whose replies to all ``n_emotions`` emotion prompts were judged as instructed."""
    ok: dict[tuple[str, str], int] = defaultdict(int)
    for r in records:
        ok[(r["skeleton_id"], r["valence"])] += int(r["correct"])
    return sorted(g for g, n in ok.items() if n == n_emotions)


def all_groups(records: list[dict]) -> list[tuple[str, str]]:
    return sorted({(r["skeleton_id"], r["valence"]) for r in records})


def _templates(cfg) -> list[str]:
    names = [cfg.model.template if t == "model" else t for t in cfg.elicit.templates]
    return list(dict.fromkeys([cfg.model.template, *names]))


def run(ctx) -> Elicitation:
    cfg, model, judge = ctx.cfg, ctx.model, ctx.judge
    decoding = decoding_of(cfg)
    records: dict[str, list[dict]] = {}
    metrics: dict = {"judge": judge.name, "templates": {}}
    splits = list(dict.fromkeys(cfg.elicit.splits))
    nrc = NRCJudge()
    for split_name in splits:
        split = ctx.split(split_name)
        for template in _templates(cfg):
            key = f"{split_name}/{template}"
            prompts = build_prompts(model.render_chat, split, ctx.emotions, Template(template))
            recs = generate_and_judge(model, judge, prompts, decoding, desc=f"elicit {key}", progress=cfg.progress)
            records[key] = recs
            ctx.run.write_jsonl(f"elicit/replies_{split_name}_{template}.jsonl", recs)
            table = accuracy_by(recs, "target", "valence")
            header, rows = emotion_by_valence(table, ctx.emotions)
            md = write_table(ctx.run, f"elicit/accuracy_{split_name}_{template}", header, rows)
            log.info("prompting accuracy %s (%s judge):\n%s", key, judge.name, md)
            metrics["templates"][key] = {
                "accuracy": table["overall"],
                "by_emotion": {e: table[e]["overall"] for e in ctx.emotions if e in table},
                "by_emotion_valence": {e: {v: table[e][v] for v in table[e] if v != "overall"}
                                       for e in ctx.emotions if e in table},
                "n_prompts": len(recs),
                "labels": label_counts(recs),
                "judge_vs_nrc": judge_agreement([r["label"] for r in recs], nrc.classify([r["reply"] for r in recs])),
            }
    key = f"discovery/{cfg.model.template}"
    if key not in records:
        ctx.run.add_metrics("elicit", metrics)
        return Elicitation(records, (), key)
    complete = complete_groups(records[key], len(ctx.emotions))
    every = all_groups(records[key])
    groups = complete if cfg.elicit.filter else every
    metrics["groups"] = {"complete": len(complete), "all": len(every), "used": len(groups),
                         "filter": cfg.elicit.filter}
    if cfg.elicit.filter and len(complete) < 2:
        log.warning("only %d complete groups: directions need more; consider elicit.filter=false", len(complete))
    ctx.run.write_json("elicit/groups.json", {"key": key, "filter": cfg.elicit.filter, "groups": groups})
    ctx.run.add_metrics("elicit", metrics)
    return Elicitation(records, tuple(map(tuple, groups)), key)


def load(ctx) -> Elicitation:
    groups = json.loads(ctx.run.path("elicit/groups.json").read_text())
    records = {}
    for path in sorted(ctx.run.path("elicit").glob("replies_*.jsonl")):
        split, template = path.stem.removeprefix("replies_").split("_", 1)
        records[f"{split}/{template}"] = [json.loads(line) for line in path.read_text().splitlines()]
    return Elicitation(records, tuple(tuple(g) for g in groups["groups"]), groups["key"])

