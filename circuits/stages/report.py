"""Stage ``report``: one self-contained ``report.html`` with every figure, table and view of the run.

It shows what the run directory holds (:func:`circuits.viz.report.build_report`) and builds the
interactive views from the finished stages' results: tokens coloured by emotion direction
(``directions``), each circuit's graph, the attention patterns of its heads and the top
activating prompts of its top neurons (``circuits``), and the replies with and without
modulation (``modulate``). It runs no other stage, so it can be rerun alone on a finished or
partial run directory (``python -m circuits.run experiment=<name> out_dir=<run>
experiment.stages=[report]``); the model is loaded only when a view needs it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from circuits import layout
from circuits.data.prompts import messages_for
from circuits.data.sev import Skeleton
from circuits.emotions import VALENCES
from circuits.evaluation.records import JudgedReply
from circuits.stages import STAGES
from circuits.stages.context import RunContext
from circuits.viz.report import build_report
from circuits.viz.views import View, attention_view, circuit_view, projection_view, replies_view, top_prompts_view
from circuits.vocab import Method, Split, StageName


def _first_group(ctx: RunContext, elicitation) -> tuple[Skeleton, str]:
    """The skeleton and valence of the first group the directions used (else the first
    skeleton of the discovery split, positive valence)."""
    split = ctx.split_of(Split.DISCOVERY, None)
    skeletons = {s.skeleton_id: s for s in split}
    for skeleton_id, valence in elicitation.groups if elicitation is not None else ():
        if skeleton_id in skeletons:
            return skeletons[skeleton_id], valence
    return next(iter(split)), "positive"


def _prompt(ctx: RunContext, skeleton: Skeleton, valence: str, emotion: str | None) -> str:
    return ctx.model.render_chat(messages_for(skeleton, valence, emotion, ctx.cfg.model.template))


def _directions_views(ctx: RunContext) -> Iterator[View]:
    directions = ctx.existing(StageName.DIRECTIONS)
    if directions is None:
        return
    elicitation = ctx.existing(StageName.ELICIT)
    replies = {(r.skeleton_id, r.valence, r.target): r.reply
               for r in (elicitation.discovery_replies if elicitation is not None else [])}
    best = ctx.run.metrics.get("directions", {}).get("probe_best", {}).get("site")
    site = next((s for s in directions.sites if str(s) == best), None)
    skeleton, valence = _first_group(ctx, elicitation)
    for emotion in directions.emotions:
        text = _prompt(ctx, skeleton, valence, emotion) + replies.get((skeleton.skeleton_id, valence, emotion), "")
        others = [e for e in directions.emotions if e != emotion]
        yield projection_view(ctx.model, directions, text, site, emotions=[emotion, *others],
                              title=f"{emotion} prompt and reply ({skeleton.skeleton_id}, {valence}): tokens coloured "
                                    f"by emotion direction")


def _circuit_views(ctx: RunContext) -> Iterator[View]:
    found = ctx.existing(StageName.CIRCUITS)
    if found is None:
        return
    model = ctx.model
    skeleton, valence = _first_group(ctx, ctx.existing(StageName.ELICIT))
    probe_texts = [_prompt(ctx, s, v, e) for s in list(ctx.split_of(Split.DISCOVERY, None))[:2] for v in VALENCES
                   for e in (*ctx.emotions, None)]
    for emotion, circuit in found.circuits.items():
        yield circuit_view(circuit, model.info.n_layers)
        yield attention_view(model, circuit, _prompt(ctx, skeleton, valence, emotion), max_heads=8,
                             title=f"{emotion} circuit: attention patterns on the {emotion} prompt "
                                   f"({skeleton.skeleton_id}, {valence})")
        top = sorted(circuit.neurons, key=lambda n: -abs(circuit.score(n)))[:3]
        if top:
            yield top_prompts_view(model, top, probe_texts, k=5,
                                   title=f"{emotion} circuit: top activating prompts of its 3 highest-scoring neurons")


def _modulate_views(ctx: RunContext) -> Iterator[View]:
    rel = layout.MODULATE.replies.path()
    if not ctx.run.exists(rel):
        return
    records = [JudgedReply.from_json(r) for r in ctx.run.read_jsonl(rel)]
    methods = tuple(dict.fromkeys(r.method for r in records if r.method is not None))
    order = (Method.NONE, Method.CIRCUIT, *[m for m in methods if m not in (Method.NONE, Method.CIRCUIT)])
    for emotion in ctx.emotions:
        yield replies_view(records, emotion, methods=order, limit=4)


VIEWS = {StageName.DIRECTIONS: _directions_views, StageName.CIRCUITS: _circuit_views,
         StageName.MODULATE: _modulate_views}
"""The views each stage's section shows, built from its results."""


def run(ctx: RunContext) -> Path:
    views = {str(stage): list(make(ctx)) for stage, make in VIEWS.items()}
    stages = {str(name): stage.description for name, stage in STAGES.items()}
    return ctx.run.write_text(layout.REPORT.report.path(), build_report(ctx.run, stages, views))
