"""Stage ``summary``: one markdown file with every table and figure of the run.

It only reads what the other stages wrote (``metrics.json`` and their tables), so it can be
rerun alone on a finished run directory.
"""

from __future__ import annotations

from pathlib import Path

from circuits import layout as L
from circuits.artifacts import RunReader
from circuits.evaluation.tables import markdown
from circuits.stages.context import RunContext


def _fmt(x, nd=2):
    if x is None:
        return "n/a"
    return f"{x:.{nd}f}" if isinstance(x, float) else str(x)


def _read(run: RunReader, rel: str) -> str:
    return run.read_text(rel) if run.exists(rel) else ""


def _fig(run: RunReader, rel: str, caption: str) -> str:
    return f"![{caption}]({rel})\n\n" if run.exists(rel) else ""


def _elicit(run: RunReader, m: dict) -> list[str]:
    """Stage 1: prompting accuracy and the complete groups."""
    out: list[str] = []
    e = m["elicit"]
    out.append("## 1. Prompting (elicitation)\n")
    out.append(markdown(["split/template", "accuracy %", "n prompts"],
                        [[k, v["accuracy"], v["n_prompts"]] for k, v in e["templates"].items()]))
    if "groups" in e:
        g = e["groups"]
        out.append(f"\nComplete groups (all six emotions judged as instructed): {g['complete']} of {g['all']}; "
                   f"used for the directions: {g['used']} (filter {'on' if g['filter'] else 'off'}).\n")
    for key in e["templates"]:
        split, template = key.split("/")
        table = L.ELICIT.accuracy.file(".md", split=split, template=template)
        out.append(f"\n**{key}**, accuracy by emotion x valence:\n\n{_read(run, table)}")
    return out


def _directions(run: RunReader, m: dict) -> list[str]:
    """Stage 2: consistency of the directions."""
    out: list[str] = []
    d = m["directions"]
    out.append("\n## 2. Emotion directions\n")
    rows = [[s, d["split_half_min_over_emotions"][s], d["loto_min"][s], d["valence_mean"][s],
             d.get("probe_accuracy", {}).get(s)] for s in d["split_half_min_over_emotions"]]
    out.append(markdown(["read-out", "split-half cos (worst emotion)", "leave-one-theme-out cos (worst)",
                         "across valences cos (mean)", "probe accuracy"], rows))
    out.append("\n" + _fig(run, L.DIRECTIONS.consistency.path(), "consistency")
               + _fig(run, L.DIRECTIONS.probes.path(), "probes")
               + _fig(run, L.DIRECTIONS.cross_sublayer.path(), "cross-sublayer cosines")
               + _fig(run, L.DIRECTIONS.emotion_cosines.path(), "emotion cosines"))
    return out


def _steer(run: RunReader, m: dict) -> list[str]:
    """The steering baseline."""
    out: list[str] = []
    s = m["steer"]
    out.append(f"\n## Steering baseline (layers {s['layers']}, alpha {s['alpha']})\n\n{_read(run, L.STEER.accuracy.file('.md'))}")
    return out


def _components(run: RunReader, m: dict) -> list[str]:
    """Stage 3: top components against random ones."""
    out: list[str] = []
    c = m["components"]
    out.append("\n## 3. Local components\n")
    rows = []
    for emo, v in c["per_emotion"].items():
        nk = next(k for k in v if k.startswith("neurons_ablation"))
        hk = next(k for k in v if k.startswith("heads_ablation"))
        gen = v.get("generation", {})
        rows.append([emo, v[nk]["top_drop"], v[nk]["random_drop"], v[hk]["top_drop"], v[hk]["random_drop"],
                     v["spearman_heads_attribution_vs_exact_final"], gen.get("ablate_top_accuracy"),
                     gen.get("ablate_random_accuracy")])
    out.append(markdown(["emotion", f"top-{nk.split('_k')[-1]} neurons: drop", "random: drop",
                         f"top-{hk.split('_k')[-1]} heads: drop", "random: drop",
                         "Spearman attribution vs exact (heads)", "accuracy, top ablated %", "accuracy, random ablated %"],
                        rows))
    out.append("\n" + _fig(run, L.COMPONENTS.validation_figure.path(), "validation")
               + _fig(run, L.COMPONENTS.heads_heatmap.path(), "heads"))
    return out


def _circuits(run: RunReader, m: dict) -> list[str]:
    """Stage 4: circuit quality."""
    out: list[str] = []
    c = m["circuits"]
    out.append("\n## 4. Circuits\n")
    out.append(f"Budget: {c['budget']['neurons']['total']} neurons + {c['budget']['heads']['total']} heads; "
               f"reference segment {c['reference_segment']}; importance peaks at {c['importance_peak']}.\n\n")
    rows = [[e, q["necessity"]["drop"], q["necessity"]["random_drop_mean"], q["necessity"]["margin"],
             q["necessity"]["z"], q["faithfulness"]["ratio"], q["spearman_injection_vs_patching"]]
            for e, q in c["quality"].items()]
    out.append(markdown(["emotion", "necessity: drop", "random circuits: drop", "margin", "z", "faithfulness",
                         "Spearman injection vs patching"], rows))
    out.append("\n" + _fig(run, L.CIRCUITS.importance_figure.path(), "importance")
               + _fig(run, L.CIRCUITS.allocation.path(), "allocation")
               + _fig(run, L.CIRCUITS.size_curve.path(), "size curve") + _fig(run, L.CIRCUITS.overlap.path(), "overlap"))
    for e in c["quality"]:
        out.append(_fig(run, L.CIRCUITS.graph.file(".png", emotion=e), f"{e} circuit"))
    return out


def _modulate(run: RunReader, m: dict) -> list[str]:
    """Stage 5: the control comparison."""
    out: list[str] = []
    mo = m["modulate"]
    out.append("\n## 5. Controlling emotion from the neutral prompt (one decoding config for all methods)\n\n")
    out.append(_read(run, L.MODULATE.methods.file(".md"))
               + "\nBy emotion (accuracy %):\n\n" + _read(run, L.MODULATE.by_emotion.file(".md"))
               + "\nBy valence (accuracy %):\n\n" + _read(run, L.MODULATE.by_valence.file(".md")))
    mt = mo.get("matched_fluency", {})
    out.append(f"\nMatched fluency (median perplexity <= {_fmt(mo['fluency_limit'])}): "
               + "; ".join(f"{k}: {_fmt(v['accuracy'])}% at strength {v['strength']}" if v else f"{k}: none"
                           for k, v in mt.items()) + "\n\n")
    out.append("Sweeps:\n\n" + _read(run, L.MODULATE.sweep.path()) + "\n"
               + _fig(run, L.MODULATE.tradeoff.path(), "accuracy vs fluency")
               + _fig(run, L.MODULATE.by_emotion.file(".png"), "by emotion"))
    return out


def _compare(run: RunReader, m: dict) -> list[str]:
    """The cross-model view (experiment=compare)."""
    return ["\n## Across models (relative depth = layer / layers)\n",
            _read(run, L.COMPARE.models.file(".md")), "\n",
            _fig(run, L.COMPARE.depth.path(), "probes, importance, circuit budget and cosines on relative depth"),
            _fig(run, L.COMPARE.cosines.path(), "emotion direction cosines per model"),
            "\nControl, every model:\n\n" + _read(run, L.COMPARE.control.file(".md"))]


SECTIONS = {"elicit": _elicit, "directions": _directions, "steer": _steer, "components": _components,
            "circuits": _circuits, "modulate": _modulate, "compare": _compare}
"""The summary's sections in order, by the metrics section they read."""


def build(run: RunReader, model_name: str) -> str:
    """The summary's markdown: a section per stage that left metrics in the run."""
    m = run.metrics
    out = [f"# Emotion circuits in {model_name}\n",
           "Every number below was measured in this run; see `metrics.json` for all of them and "
           "`manifest.json` for each artifact's checksum.\n"]
    for stage, section in SECTIONS.items():
        if stage in m:
            out += section(run, m)
    return "\n".join(out)


def run(ctx: RunContext) -> Path:
    text = build(ctx.run, str(ctx.run.info.get("model", ctx.cfg.model.name)))
    return ctx.run.write_text(L.SUMMARY.summary.path(), text)
