"""Stage ``directions`` (the study's stage 2): emotion directions and the evidence that they are
context-agnostic. Reads the complete groups of the elicitation on the discovery split."""

from __future__ import annotations

import logging

import numpy as np

from circuits import layout
from circuits.directions.emotion_directions import EmotionDirections
from circuits.directions.evidence import Evidence, evidence
from circuits.directions.extract import extract_directions
from circuits.sites import ReadOut, ResidSite
from circuits.stages.context import RunContext
from circuits.viz import plots
from circuits.vocab import Aggregator

log = logging.getLogger(__name__)

FILES = layout.DIRECTIONS


def _summary(ev: Evidence, directions: EmotionDirections) -> dict:
    sites = [str(s) for s in directions.sites]
    n = directions.n_layers
    # "middle to late": read-outs from the middle of the network on
    late = slice(n, 2 * n)
    sh_min = ev.split_half.min(dim=0).values
    out = {
        "split_half_min_over_emotions": dict(zip(sites, sh_min.tolist())),
        "split_half_mean": dict(zip(sites, ev.split_half.mean(dim=0).tolist())),
        "loto_mean": dict(zip(sites, ev.loto_mean.mean(dim=0).tolist())),
        "loto_min": dict(zip(sites, ev.loto_min.min(dim=0).values.tolist())),
        "valence_mean": dict(zip(sites, ev.valence.mean(dim=0).tolist())),
        "split_half_min_middle_to_late": float(sh_min[late].min()),
        "split_half_by_emotion_middle_to_late": {
            e: float(ev.split_half[i, late].min()) for i, e in enumerate(directions.emotions)
        },
        "adjacent_sublayer_cosine_mean": [
            float(ev.cross_sublayer[:, i, i + 1].mean()) for i in range(2 * n - 1)
        ],
        "emotion_cosine_offdiag_mean": {
            s: float((ev.emotion_cosines[i].sum() - ev.emotion_cosines[i].trace()) / (len(directions.emotions) ** 2 - len(directions.emotions)))
            for i, s in enumerate(sites)
        },
    }
    if ev.probe:
        best = max(ev.probe, key=ev.probe.get)
        out["probe_accuracy"] = ev.probe
        out["probe_best"] = {"site": best, "accuracy": ev.probe[best]}
    if ev.aggregator_agreement:
        out["aggregator_agreement"] = {k: dict(zip(sites, v)) for k, v in ev.aggregator_agreement.items()}
    return out


def _figures(ctx: RunContext, ev: Evidence, d: EmotionDirections) -> None:
    n, emotions = d.n_layers, list(d.emotions)
    curves = {"split-half": ev.split_half.numpy(), "leave-one-theme-out": ev.loto_mean.numpy(),
              "across valences": ev.valence.numpy()}
    ctx.run.save_figure(FILES.consistency.path(), plots.consistency_figure(
        curves, emotions, n, f"{d.model}: are directions the same across contexts?"))
    labels = plots.site_labels(n)
    ctx.run.save_figure(FILES.cross_sublayer.path(), plots.heatmap_grid(
        ev.cross_sublayer.numpy(), emotions, labels, f"{d.model}: cosine between read-outs (2L x 2L)"))
    picks = sorted({0, n // 2, n - 1})
    mats = np.stack([ev.emotion_cosines[2 * layer + 1].numpy() for layer in picks])
    ctx.run.save_figure(FILES.emotion_cosines.path(), plots.heatmap_grid(
        mats, [str(ResidSite(layer, ReadOut.RESID_POST)) for layer in picks], [e[:4] for e in emotions], f"{d.model}: emotion x emotion cosine"))
    if ev.probe:
        ctx.run.save_figure(FILES.probes.path(), plots.probe_figure(
            ev.probe, 1 / len(emotions), f"{d.model}: probe accuracy for the instructed emotion"))


def run(ctx: RunContext) -> EmotionDirections:
    cfg = ctx.cfg
    prompts = ctx.discovery_prompts(ctx.elicitation.groups)
    aggregator = cfg.directions.aggregator
    others = tuple(a for a in Aggregator if a is not aggregator) if cfg.directions.compare_aggregators else ()
    ex = extract_directions(ctx.model, prompts, ctx.emotions, aggregator, cfg.decoding.batch_size,
                 keep_samples=cfg.directions.probes or bool(others), seed=cfg.seed, progress=cfg.progress)
    ev = evidence(ex, probes=cfg.directions.probes, aggregators=others)
    d = ex.directions
    ctx.run.save(FILES.directions, d)
    _figures(ctx, ev, d)
    summary = _summary(ev, d)
    ctx.run.add_metrics("directions", {"n_groups": d.n_groups, "aggregator": d.aggregator, **summary})
    log.info("directions: %d groups; split-half cosine (worst emotion) from mid-depth on: %.3f; probe best %s",
             d.n_groups, summary["split_half_min_middle_to_late"], summary.get("probe_best"))
    return d


def load(ctx: RunContext) -> EmotionDirections:
    return EmotionDirections.load(ctx.run.path(FILES.directions.path()))
