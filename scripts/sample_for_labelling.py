"""Draw replies for hand labelling from finished runs, balanced over methods and targets, and
write them twice: with their provenance (``sample.jsonl``) and blind (``blind.jsonl``: an id and
the text only, shuffled), so that the reader labels each reply without seeing its model, method
or target.

    python scripts/sample_for_labelling.py OUT_DIR MODEL=RUN_DIR[,RUN_DIR...] ... [--per-group N]

Each run directory contributes its control replies (``modulate/replies.jsonl``: none,
steering, circuit, circuit_study, random), the high-strength end of its sweep
(``modulate/sweep_replies.jsonl`` at the largest multiplier: the garbled replies) and its
prompting replies under each template (``elicit/replies_test_<template>.jsonl``), and any
``garbled.jsonl`` (replies generated far past the fluency limit, group ``garbled``). Groups are
(model, method); within a group the draw takes targets in turn, so emotions stay balanced.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
from collections import defaultdict
from pathlib import Path


def _rows(path: Path):
    if path.is_file():
        yield from (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


def groups_of(model: str, run: Path) -> dict[tuple[str, str], list[dict]]:
    out: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in _rows(run / "modulate" / "replies.jsonl"):
        if r["method"] != "prompting":  # prompting comes from elicit, under each template
            out[model, r["method"]].append({**r, "source": "modulate"})
    sweep = list(_rows(run / "modulate" / "sweep_replies.jsonl"))
    if sweep:
        top = max(r["multiplier"] for r in sweep)
        for r in sweep:
            if r["multiplier"] == top:
                out[model, f"{r['method']}_x{top:g}"].append({**r, "source": "sweep"})
    for r in _rows(run / "garbled.jsonl"):  # replies generated far past the fluency limit
        out[model, "garbled"].append({**r, "source": "garbled"})
    for template in ("system", "user"):
        for r in _rows(run / "elicit" / f"replies_test_{template}.jsonl"):
            out[model, f"prompting_{template}"].append({**r, "method": "prompting", "template": template,
                                                        "source": "elicit"})
    return out


def draw(rows: list[dict], n: int, rng: random.Random) -> list[dict]:
    """``n`` rows, targets taken in turn (each target's rows shuffled), no text twice, none empty."""
    by_target: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_target[r.get("target") or "none"].append(r)
    for rs in by_target.values():
        rng.shuffle(rs)
    out, texts = [], set()
    while len(out) < n and any(by_target.values()):
        for target in sorted(by_target):
            while by_target[target]:
                r = by_target[target].pop()
                if r["reply"].strip() and r["reply"] not in texts:  # an empty reply has nothing to read
                    out.append(r)
                    texts.add(r["reply"])
                    break
            if len(out) == n:
                break
    return out


def main(argv: list[str]) -> int:
    per_group = 28
    if "--per-group" in argv:
        i = argv.index("--per-group")
        per_group = int(argv[i + 1])
        argv = argv[:i] + argv[i + 2:]
    out_dir, specs = Path(argv[0]), argv[1:]
    rng = random.Random(0)
    sample = []
    for spec in specs:
        model, runs = spec.split("=", 1)
        groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for run in runs.split(","):
            for key, rows in groups_of(model, Path(run)).items():
                groups[key] += rows
        for (m, method), rows in sorted(groups.items()):
            for r in draw(rows, per_group, random.Random(f"{m}/{method}")):  # one stream per group
                sample.append({"model": m, "group": method, "method": r["method"], "template": r.get("template"),
                               "target": r.get("target"), "strength": r.get("strength"),
                               "multiplier": r.get("multiplier"), "perplexity": r.get("perplexity"),
                               "skeleton_id": r.get("skeleton_id"), "valence": r.get("valence"),
                               "judge_offline": r.get("label"), "text": r["reply"]})
    for s in sample:  # an id fixed by the reply itself: adding groups later keeps every earlier id
        s["id"] = "r" + hashlib.sha256(f"{s['model']}/{s['group']}/{s['text']}".encode()).hexdigest()[:10]
    rng.shuffle(sample)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "sample.jsonl").write_text("".join(json.dumps(s) + "\n" for s in sample), encoding="utf-8")
    (out_dir / "blind.jsonl").write_text("".join(json.dumps({"id": s["id"], "text": s["text"]}) + "\n"
                                                 for s in sample), encoding="utf-8")
    counts = defaultdict(int)
    for s in sample:
        counts[s["model"], s["group"]] += 1
    for k, v in sorted(counts.items()):
        print(*k, v)
    print("total", len(sample))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
