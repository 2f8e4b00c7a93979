"""Emotion-expression accuracy: generate, judge, tabulate.

Replies are judged into :class:`~circuits.evaluation.records.JudgedReply` records; tables are
accuracy (%) by any of their fields, e.g. target x valence in the study's form.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from circuits.data.prompts import Prompt
from circuits.emotions import NEUTRAL
from circuits.evaluation.judges import Judge
from circuits.evaluation.records import JudgedReply, judged_records
from circuits.generation import Decoding, generate
from circuits.model.backend import Backend


def generate_and_judge(
    model: Backend,
    judge: Judge,
    prompts: Sequence[Prompt],
    decoding: Decoding,
    targets: Sequence[str] | None = None,
    desc: str = "generating",
    progress: bool = True,
) -> list[JudgedReply]:
    """Generate one reply per prompt (with whatever hooks are attached) and judge it."""
    replies = generate(model, [p.text for p in prompts], decoding, desc=desc, progress=progress)
    labels = judge.classify([r.text for r in replies])
    return judged_records(prompts, replies, labels, targets)


def accuracy(records: Sequence[JudgedReply]) -> float:
    """Share of records judged as their target, in percent."""
    return 100.0 * sum(r.correct for r in records) / max(1, len(records))


def accuracy_by(records: Sequence[JudgedReply], *keys: str) -> dict:
    """Accuracy (%) per value of the record fields ``keys`` (nested dicts for several keys), plus ``overall``."""
    if not keys:
        return {"overall": round(accuracy(records), 2), "n": len(records)}
    groups: dict[str, list[JudgedReply]] = defaultdict(list)
    for r in records:
        groups[getattr(r, keys[0])].append(r)
    table = {k: accuracy_by(v, *keys[1:]) if len(keys) > 1 else round(accuracy(v), 2) for k, v in groups.items()}
    table["overall"] = round(accuracy(records), 2)
    return table


def label_counts(records: Sequence[JudgedReply]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for r in records:
        counts[r.label] += 1
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
