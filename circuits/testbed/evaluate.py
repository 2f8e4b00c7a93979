"""Does ``emo-tiny`` express and *compute* emotion? The numbers the testbed must meet.

- Expression: on a split, emotion-prompted greedy replies judged as the instructed emotion
  (overall and per emotion), and neutral-prompted replies judged neutral.
- Computation: a linear probe decodes the instructed emotion from the residual stream at the
  last prompt token (grouped by skeleton) at some middle layer, while at the token embedding of
  that same position (before any attention) it cannot: the last prompt token is the same for
  every emotion, so whatever the probe finds there was moved and computed by the model.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from circuits.activations import read_last_token
from circuits.data.prompts import build_prompts
from circuits.data.sev import SEVSplit
from circuits.directions.probes import probe_accuracy
from circuits.emotions import EMOTIONS, NEUTRAL
from circuits.evaluation.accuracy import accuracy, accuracy_by, generate_and_judge, label_counts
from circuits.evaluation.judges import Judge
from circuits.evaluation.records import JudgedReply
from circuits.generation import Decoding
from circuits.model.backend import Backend
from circuits.sites import EmbedSite, resid_sites
from circuits.vocab import Template


def expression(
    model: Backend, judge: Judge, split: SEVSplit, decoding: Decoding, template: Template, progress: bool = True
) -> tuple[dict, list[JudgedReply]]:
    """Accuracy of emotion prompts and neutral rate of neutral prompts on ``split``."""
    emo = build_prompts(model.render_chat, split, EMOTIONS, template)
    neu = build_prompts(model.render_chat, split, [None], template)
    recs_e = generate_and_judge(model, judge, emo, decoding, desc=f"{split.name}: emotion prompts", progress=progress)
    recs_n = generate_and_judge(model, judge, neu, decoding, desc=f"{split.name}: neutral prompts", progress=progress)
    metrics = {
        "emotion_accuracy": round(accuracy(recs_e), 2),
        "emotion_accuracy_by_emotion": {k: v for k, v in accuracy_by(recs_e, "target").items() if k != "overall"},
        "emotion_accuracy_by_valence": {k: v for k, v in accuracy_by(recs_e, "valence").items() if k != "overall"},
        "neutral_rate": round(accuracy(recs_n), 2),
        "neutral_prompt_labels": label_counts(recs_n),
        "n_emotion_prompts": len(recs_e),
        "n_neutral_prompts": len(recs_n),
    }
    return metrics, [r.with_(template=template.value) for r in recs_e + recs_n]


def probe_profile(
    model: Backend, split: SEVSplit, template: Template, emotions: Sequence[str] = EMOTIONS, folds: int = 5
) -> dict[str, float]:
    """Probe accuracy for the instructed emotion at the last prompt token, per site."""
    prompts = build_prompts(model.render_chat, split, emotions, template)
    sites = [EmbedSite(), *resid_sites(model.info.n_layers)]
    acts = read_last_token(model, [p.text for p in prompts], sites)
    labels = [p.emotion for p in prompts]
    groups = [p.skeleton_id for p in prompts]
    out = {}
    for site in sites:
        name = "embed" if isinstance(site, EmbedSite) else str(site)
        out[name] = round(probe_accuracy(acts[site].numpy().astype(np.float64), labels, groups, folds=folds), 4)
    return out


def summary_lines(metrics: dict) -> list[str]:
    """Human-readable lines for the log and the console."""
    lines = []
    for split, m in metrics.get("expression", {}).items():
        per = ", ".join(f"{e} {m['emotion_accuracy_by_emotion'].get(e, float('nan')):.1f}" for e in EMOTIONS)
        lines.append(
            f"{split}: emotion prompts judged as instructed {m['emotion_accuracy']:.2f}% ({per}); "
            f"neutral prompts judged {NEUTRAL} {m['neutral_rate']:.2f}%"
        )
    if "probe" in metrics:
        p = metrics["probe"]
        best = max((k for k in p if k != "embed"), key=p.get)
        lines.append(f"probe: embedding {p['embed']:.3f}, best {best} {p[best]:.3f} (chance {1 / len(EMOTIONS):.3f})")
    return lines
