"""Stage ``elicit`` (the study's stage 1): emotion-prompted replies, judged.

For each split and prompt template: one greedy reply per emotion prompt, judged; accuracy by
emotion x valence (this is the *prompting* baseline of the control experiments). On the
discovery split with the model's template, the (skeleton, valence) groups whose six replies
were all accepted are *complete*; the directions stage uses them (or every group when
``elicit.filter`` is off, for weak models that express few emotions).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence

from circuits import layout
from circuits.evaluation.accuracy import accuracy_by, generate_and_judge, judge_agreement, label_counts
from circuits.evaluation.judges import NRCJudge
from circuits.evaluation.records import JudgedReply
from circuits.evaluation.tables import emotion_by_valence, write_table
from circuits.stages.context import RunContext
from circuits.stages.results import Elicitation
from circuits.vocab import Split, Template

log = logging.getLogger(__name__)

FILES = layout.ELICIT


def complete_groups(records: Sequence[JudgedReply], n_emotions: int) -> list[tuple[str, str]]:
    """Groups whose replies to all ``n_emotions`` emotion prompts were judged as instructed."""
    ok: dict[tuple[str, str], int] = defaultdict(int)
    for r in records:
        ok[r.group] += int(r.correct)
    return sorted(g for g, n in ok.items() if n == n_emotions)


def all_groups(records: Sequence[JudgedReply]) -> list[tuple[str, str]]:
    return sorted({r.group for r in records})


def _key(split: Split, template: Template) -> str:
    return f"{split}/{template}"


def _templates(ctx: RunContext) -> list[Template]:
    return list(dict.fromkeys([ctx.cfg.model.template, *ctx.cfg.elicit.templates]))


def _metrics(ctx: RunContext, records: list[JudgedReply], table: dict) -> dict:
    nrc = NRCJudge()
    return {
        "accuracy": table["overall"],
        "by_emotion": {e: table[e]["overall"] for e in ctx.emotions if e in table},
        "by_emotion_valence": {e: {v: table[e][v] for v in table[e] if v != "overall"}
                               for e in ctx.emotions if e in table},
        "n_prompts": len(records),
        "labels": label_counts(records),
        "judge_vs_nrc": judge_agreement([r.label for r in records], nrc.classify([r.reply for r in records])),
    }


def _elicit(ctx: RunContext, split: Split, template: Template) -> tuple[list[JudgedReply], dict]:
    """Judged replies to every emotion prompt of ``split`` under ``template``, saved with their table."""
    key = _key(split, template)
    prompts = ctx.prompts(ctx.split(split), ctx.emotions, template)
    records = generate_and_judge(ctx.model, ctx.judge, prompts, ctx.decoding, desc=f"elicit {key}",
                                 progress=ctx.cfg.progress)
    ctx.run.write_jsonl(FILES.replies.path(split=split, template=template), records)
    table = accuracy_by(records, "target", "valence")
    header, rows = emotion_by_valence(table, ctx.emotions)
    md = write_table(ctx.run, FILES.accuracy.path(split=split, template=template), header, rows)
    log.info("prompting accuracy %s (%s judge):\n%s", key, ctx.judge.name, md)
    return records, _metrics(ctx, records, table)


def run(ctx: RunContext) -> Elicitation:
    cfg = ctx.cfg
    records: dict[str, list[JudgedReply]] = {}
    metrics: dict = {"judge": ctx.judge.name, "templates": {}}
    for split in dict.fromkeys(cfg.elicit.splits):
        for template in _templates(ctx):
            records[_key(split, template)], metrics["templates"][_key(split, template)] = _elicit(ctx, split, template)
    key = _key(Split.DISCOVERY, cfg.model.template)
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
    ctx.run.write_json(FILES.groups.path(), {"key": key, "filter": cfg.elicit.filter, "groups": groups})
    ctx.run.add_metrics("elicit", metrics)
    return Elicitation(records, tuple(map(tuple, groups)), key)


def load(ctx: RunContext) -> Elicitation:
    groups = ctx.run.read_json(FILES.groups.path())
    records = {}
    for split in Split:
        for template in Template:
            rel = FILES.replies.path(split=split, template=template)
            if ctx.run.exists(rel):
                records[_key(split, template)] = [JudgedReply.from_json(r) for r in ctx.run.read_jsonl(rel)]
    return Elicitation(records, tuple(tuple(g) for g in groups["groups"]), groups["key"])
