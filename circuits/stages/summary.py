"""Stage ``summary``: one markdown file with every table and figure of the run.

It only reads what the other stages wrote (``metrics.json`` and their tables), so it can be
rerun alone on a finished run directory.
"""

from __future__ import annotations

from pathlib import Path

from circuits.evaluation.tables import markdown


def _fmt(x, nd=2):
    if x is None:
        return "n/a"
    return f"{x:.{nd}f}" if isinstance(x, float) else str(x)


def _read(run, rel: str) -> str:
    p = run.path(rel)
    return p.read_text() if p.exists() else ""


def _fig(run, rel: str, caption: str) -> str:
    return f"![{caption}]({rel})\n\n" if run.path(rel).exists() else ""


def build(run, model_name: str) -> str:
    m = run.metrics
    out = [f"# Emotion circuits in {model_name}\n",
           "Every number below was measured in this run; see `metrics.json` for all of them and "
           "`manifest.json` for each artifact's checksum.\n"]
    if "elicit" in m:
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
            out.append(f"\n**{key}**, accuracy by emotion x valence:\n\n{_read(run, f'elicit/accuracy_{split}_{template}.md')}")
    if "directions" in m:
        d = m["directions"]
        out.append("\n## 2. Emotion directions\n")
        rows = [[s, d["split_half_min_over_emotions"][s], d["loto_min"][s], d["valence_mean"][s],
                 d.get("probe_accuracy", {}).get(s)] for s in d["split_half_min_over_emotions"]]
        out.append(markdown(["read-out", "split-half cos (worst emotion)", "leave-one-theme-out cos (worst)",
                             "across valences cos (mean)", "probe accuracy"], rows))
        out.append("\n" + _fig(run, "directions/consistency.png", "consistency") + _fig(run, "directions/probes.png", "probes")
                   + _fig(run, "directions/cross_sublayer.png", "cross-sublayer cosines")
                   + _fig(run, "directions/emotion_cosines.png", "emotion cosines"))
    if "steer" in m:
        s = m["steer"]
        out.append(f"\n## Steering baseline (layers {s['layers']}, alpha {s['alpha']})\n\n{_read(run, 'steer/accuracy.md')}")
    if "components" in m:
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
        out.append("\n" + _fig(run, "components/validation.png", "validation") + _fig(run, "components/heads_heatmap.png", "heads"))
    if "circuits" in m:
        c = m["circuits"]
        out.append("\n## 4. Circuits\n")
        out.append(f"Budget: {c['budget']['neurons']['total']} neurons + {c['budget']['heads']['total']} heads; "
                   f"reference segment {c['reference_segment']}; importance peaks at {c['importance_peak']}.\n\n")
        rows = [[e, q["necessity"]["drop"], q["necessity"]["random_drop_mean"], q["necessity"]["margin"],
                 q["necessity"]["z"], q["faithfulness"]["ratio"], q["spearman_injection_vs_patching"]]
                for e, q in c["quality"].items()]
        out.append(markdown(["emotion", "necessity: drop", "random circuits: drop", "margin", "z", "faithfulness",
                             "Spearman injection vs patching"], rows))
        out.append("\n" + _fig(run, "circuits/importance.png", "importance") + _fig(run, "circuits/allocation.png", "allocation")
                   + _fig(run, "circuits/size_curve.png", "size curve") + _fig(run, "circuits/overlap.png", "overlap"))
        for e in c["quality"]:
            out.append(_fig(run, f"circuits/graph_{e}.png", f"{e} circuit"))
    if "modulate" in m:
        mo = m["modulate"]
        out.append("\n## 5. Controlling emotion from the neutral prompt (one decoding config for all methods)\n\n")
        out.append(_read(run, "modulate/methods.md") + "\nBy emotion (accuracy %):\n\n" + _read(run, "modulate/by_emotion.md")
                   + "\nBy valence (accuracy %):\n\n" + _read(run, "modulate/by_valence.md"))
        mt = mo.get("matched_fluency", {})
        out.append(f"\nMatched fluency (median perplexity <= {_fmt(mo['fluency_limit'])}): "
                   + "; ".join(f"{k}: {_fmt(v['accuracy'])}% at strength {v['strength']}" if v else f"{k}: none"
                               for k, v in mt.items()) + "\n\n")
        out.append("Sweeps:\n\n" + _read(run, "modulate/sweep.md") + "\n" + _fig(run, "modulate/accuracy_fluency.png", "accuracy vs fluency")
                   + _fig(run, "modulate/by_emotion.png", "by emotion"))
    return "\n".join(out)


def run(ctx) -> Path:
    text = build(ctx.run, ctx.cfg.model.name)
    return ctx.run.write_text("summary.md", text)
