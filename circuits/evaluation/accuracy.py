"""Emotion-expression accuracy: generate, judge, tabulate.

A *record* is one reply with its labels: ``{"skeleton_id", "theme", "valence", "target",
"label", "correct", "reply"}``, where ``target`` is the emotion the method aims for (``neutral``
for an unmodified neutral prompt) and ``label`` the judge's verdict. Tables are accuracy (%) by
any key, e.g. target x valence in the study's form.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from circuits.data.prompts import Prompt
from circuits.emotions import NEUTRAL
from circuits.generation import Decoding, Reply, generate
from circuits.model.backend import HookedModel


def judged_records(
    prompts: Sequence[Prompt],
    replies: Sequence[Reply],
    labels: Sequence[str],
    targets: Sequence[str] | None = None,
) -> list[dict]:
    """Records for replies already judged; the target defaults to the instructed emotion."""
    out = []
    for i, (p, r, lab) in enumerate(zip(prompts, replies, labels)):
        target = targets[i] if targets is not None else (p.emotion or NEUTRAL)
        out.append(
            {
                "skeleton_id": p.skeleton_id,
                "theme": p.theme,
                "valence": p.valence,
                "target": target,
                "label": lab,
                "correct": lab == target,
                "reply": r.text,
                "n_tokens": len(r.token_ids),
                "finished": r.finished,
            }
        )
    return out


def generate_and_judge(
    model: HookedModel,
    judge,
    prompts: Sequence[Prompt],
    decoding: Decoding,
    targets: Sequence[str] | None = None,
    desc: str = "generating",
    progress: bool = True,
) -> list[dict]:
    """Generate one reply per prompt (with whatever hooks are attached) and judge it."""
    replies = generate(model, [p.text for p in prompts], decoding, desc=desc, progress=progress)
    labels = judge.classify([r.text for r in replies])
    return judged_records(prompts, replies, labels, targets)


def accuracy(records: Sequence[dict]) -> float:
    """Share of records judged as their target, in percent."""
    return 100.0 * sum(r["correct"] for r in records) / max(1, len(records))


def accuracy_by(records: Sequence[dict], *keys: str) -> dict:
    """Accuracy (%) per value of ``keys`` (nested dicts for several keys), plus ``overall``."""
    if not keys:
        return {"overall": round(accuracy(records), 2), "n": len(records)}
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        groups[r[keys[0]]].append(r)
    table = {k: accuracy_by(v, *keys[1:]) if len(keys) > 1 else round(accuracy(v), 2) for k, v in groups.items()}
    table["overall"] = round(accuracy(records), 2)
    return table


def label_counts(records: Sequence[dict]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for r in records:
        counts[r["label"]] += 1
    return dict(sorted(counts.items()))


def judge_agreement(a: Sequence[str], b: Sequence[str]) -> dict:
    """How often two judges agree: raw agreement, Cohen's kappa, and agreement on the replies
    where the second judge sees an emotion at all (a lexicon judge abstains a lot)."""
    from sklearn.metrics import cohen_kappa_score

    n = len(a)
    both = [(x, y) for x, y in zip(a, b) if y != NEUTRAL]
    return {
        "n": n,
        "agreement": round(100.0 * sum(x == y for x, y in zip(a, b)) / max(1, n), 2),
        "kappa": round(float(cohen_kappa_score(a, b)), 4) if n else None,
        "n_second_non_neutral": len(both),
        "agreement_where_second_non_neutral": round(100.0 * sum(x == y for x, y in both) / max(1, len(both)), 2),
    }
