"""Small tables as markdown (for summaries and the README) and CSV (for analysis)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from circuits.emotions import VALENCES


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.2f}"
    return "" if x is None else str(x)


def markdown(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_fmt(x) for x in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def csv_text(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows([[_fmt(x) for x in row] for row in rows])
    return buf.getvalue()


def write_table(run, stem: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Write ``stem.md`` and ``stem.csv`` into the run directory; returns the markdown."""
    md = markdown(header, rows)
    run.write_text(f"{stem}.md", md)
    run.write_text(f"{stem}.csv", csv_text(header, rows))
    return md


def emotion_by_valence(table: dict, emotions: Sequence[str]) -> tuple[list[str], list[list[Any]]]:
    """Rows of an ``accuracy_by(records, "target", "valence")`` table in the study's form."""
    header = ["emotion", *VALENCES, "overall"]
    rows = [[e, *[table[e].get(v) for v in VALENCES], table[e]["overall"]] for e in emotions if e in table]
    rows.append(["all", *[None for _ in VALENCES], table["overall"]])
    return header, rows
