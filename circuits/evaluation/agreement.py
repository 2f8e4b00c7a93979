"""How far each judge agrees with a careful reader: the hand-labelled replies and the agreement
table.

``circuits/data/labels/replies.jsonl`` holds replies of emo-tiny, SmolLM2-135M-Instruct and
Qwen2.5-Coder-0.5B-Instruct under
every control method (and garbled ones), each labelled by reading it, blind to its model, method
and target, by the rule in ``circuits/data/labels/RULES.md``. Half of them (by a hash of the id)
are *held out*: a judge may be tuned on the others, never on those.

``python -m circuits.evaluation.agreement [--judges hybrid,offline,keyword,nrc,llm] [--split heldout]``
prints, for every judge, its agreement with the reader overall, per model, per hand label
(recall: of the replies the reader gave label L, the share the judge called L), Cohen's kappa,
and how often it calls a reply emotional that the reader found neutral; it writes the same to
``outputs/agreement/`` (``agreement.md``, ``agreement.json``).
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from circuits.emotions import EMOTIONS, NEUTRAL
from circuits.errors import UserError
from circuits.paths import PACKAGE_DIR

LABELS_PATH = PACKAGE_DIR / "data" / "labels" / "replies.jsonl"
LABELS = (*EMOTIONS, NEUTRAL)
SPLITS = ("dev", "heldout")


@dataclass(frozen=True)
class LabelledReply:
    """One reply and the label a careful reader gave it, with where it came from."""

    id: str
    model: str
    group: str
    """The sampling group: the control method (``none``, ``prompting_system``, ``prompting_user``,
    ``steering``, ``circuit``, ``circuit_study``, ``random``) or a garbled group (``*_x2``: the
    sweep at twice the chosen strength; ``garbled``: strengths far past the fluency limit)."""
    target: str | None
    text: str
    label: str
    note: str = ""

    @property
    def split(self) -> str:
        """``heldout`` for half of the replies (fixed by a hash of the id), else ``dev``."""
        return SPLITS[hashlib.sha256(self.id.encode()).digest()[0] % 2]


def load_labels(path: str | Path = LABELS_PATH) -> list[LabelledReply]:
    """The hand-labelled replies, checked: known labels, unique ids, no empty text."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"hand labels not found: {path}")
    out, ids = [], set()
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            rec = LabelledReply(row["id"], row["model"], row["group"], row.get("target"), row["text"], row["label"],
                                row.get("note", ""))
        except (ValueError, KeyError, TypeError) as err:
            raise UserError(f"{path}:{n}: not a labelled reply ({err})") from None
        if rec.label not in LABELS:
            raise UserError(f"{path}:{n}: unknown label {rec.label!r}: choose from {', '.join(LABELS)}")
        if rec.id in ids or not rec.text.strip():
            raise UserError(f"{path}:{n}: duplicate id or empty text ({rec.id})")
        ids.add(rec.id)
        out.append(rec)
    return out


def kappa(a: Sequence[str], b: Sequence[str]) -> float:
    """Cohen's kappa of two labelings of the same items."""
    n = len(a)
    if n == 0:
        return float("nan")
    observed = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[k] * cb[k] for k in set(ca) | set(cb)) / (n * n)
    return 1.0 if expected == 1 else (observed - expected) / (1 - expected)


def agreement(hand: Sequence[str], judged: Sequence[str]) -> dict:
    """Agreement of a judge's labels with the reader's: accuracy (%), kappa, per-label recall
    and precision (%), and the share of reader-neutral replies the judge calls emotional."""
    n = len(hand)
    per_label = {}
    for label in LABELS:
        truth = [i for i in range(n) if hand[i] == label]
        called = [i for i in range(n) if judged[i] == label]
        hits = sum(judged[i] == label for i in truth)
        per_label[label] = {"n": len(truth), "recall": round(100 * hits / len(truth), 1) if truth else None,
                            "precision": round(100 * hits / len(called), 1) if called else None}
    neutral = [i for i in range(n) if hand[i] == NEUTRAL]
    return {"n": n, "accuracy": round(100 * sum(h == j for h, j in zip(hand, judged)) / max(1, n), 1),
            "kappa": round(kappa(hand, judged), 3), "per_label": per_label,
            "neutral_called_emotional": round(100 * sum(judged[i] != NEUTRAL for i in neutral) / len(neutral), 1)
            if neutral else None}


def measure(judges: dict[str, object], labelled: Sequence[LabelledReply]) -> dict[str, dict]:
    """Every judge's agreement with the reader: overall and per model."""
    out = {}
    models = sorted({r.model for r in labelled})
    for name, judge in judges.items():
        judged = judge.classify([r.text for r in labelled])
        hand = [r.label for r in labelled]
        out[name] = {"all": agreement(hand, judged)}
        for model in models:
            idx = [i for i, r in enumerate(labelled) if r.model == model]
            out[name][model] = agreement([hand[i] for i in idx], [judged[i] for i in idx])
    return out


def tables(results: dict[str, dict], labelled: Sequence[LabelledReply]) -> str:
    """The agreement as markdown: one row per judge and model, then recall per hand label."""
    from circuits.evaluation.tables import markdown

    scopes = [s for s in next(iter(results.values())) if s != "all"] + ["all"]
    rows = [[judge, scope, r[scope]["n"], r[scope]["accuracy"], r[scope]["kappa"], r[scope]["neutral_called_emotional"]]
            for judge, r in results.items() for scope in scopes]
    md = markdown(["judge", "model", "replies", "agreement %", "kappa", "reader-neutral called emotional %"], rows)
    md += "\n" + markdown(["judge", "model", *[f"{label} (n)" for label in LABELS]],
                          [[judge, scope, *[f"{r[scope]['per_label'][label]['recall']} ({r[scope]['per_label'][label]['n']})"
                                            for label in LABELS]]
                           for judge, r in results.items() for scope in scopes])
    counts = Counter((r.model, r.label) for r in labelled)
    md += "\nRecall per hand label (%); the reader's labels: " + "; ".join(
        f"{model} " + ", ".join(f"{label} {counts[model, label]}" for label in LABELS)
        for model in sorted({r.model for r in labelled})) + ".\n"
    return md


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    from circuits.evaluation.judges import make_judge
    from circuits.vocab import JudgeKind

    ap = argparse.ArgumentParser(prog="python -m circuits.evaluation.agreement", description=__doc__.split("\n\n")[0])
    ap.add_argument("--judges", default="hybrid,offline,keyword,nrc", help="comma-separated judge kinds")
    ap.add_argument("--split", choices=["all", *SPLITS], default="all")
    ap.add_argument("--hf-model", default=None, help="the classifier of the hf judge (default: judge.hf_model's)")
    ap.add_argument("--llm-model", default="smollm2-135m-instruct", help="the chat model of the llm judge")
    ap.add_argument("--labels", default=str(LABELS_PATH))
    ap.add_argument("--out", default="outputs/agreement")
    args = ap.parse_args(argv)
    try:
        labelled = [r for r in load_labels(args.labels) if args.split in ("all", r.split)]
        kinds = [k.strip() for k in args.judges.split(",") if k.strip()]
        unknown = [k for k in kinds if k not in JudgeKind.values()]
        if unknown:
            raise UserError(f"unknown judge {unknown[0]!r}: choose from {', '.join(JudgeKind.values())}")
        results = measure({k: make_judge(k, hf_model=args.hf_model, llm_model=args.llm_model) for k in kinds},
                          labelled)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    md = f"Hand-labelled replies: {len(labelled)} ({args.split}).\n\n" + tables(results, labelled)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "agreement.md").write_text(md, encoding="utf-8")
    (out / "agreement.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
