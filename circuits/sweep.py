"""Sweeps: one run per combination of swept values, launched by Hydra, resumable, one table.

``python -m circuits.run -m model=emo-tiny,smollm2-135m-instruct seed=0,1`` runs one *cell* per
combination (Hydra's sweep syntax: ``a,b``, ``range(0,3)``, ``glob(*)`` for config groups), each
in its own run directory under one sweep directory (``out_dir``, default
``outputs/sweeps/<experiment>``), named by its swept values (``model=emo-tiny,seed=1``). How cells
run is Hydra's launcher, a config group: ``hydra/launcher=basic`` (default: one after another),
``joblib`` (parallel processes on this machine), ``submitit_slurm`` (one Slurm job per cell) or
``submitit_local`` (the same, as local processes, to test it without a cluster).

Every cell is composed and validated before any cell starts, so a bad value in any of them stops
the sweep with one line. A cell whose manifest says every stage finished under the cell's
configuration is skipped, so rerunning a sweep resumes it; a cell that fails does not stop the
others, and the sweep ends with exit code 1 and the list of failed cells. ``sweep.json`` in the
sweep directory records every cell's overrides, directory and outcome.

``python -m circuits.sweep <sweep dir>`` collects the cells' ``metrics.json`` into one table
(``sweep.csv``, ``sweep.md``), one figure (``sweep.png``) and an index page linking each cell's
report (``index.html``).
"""

from __future__ import annotations

import csv
import html
import io
import json
import logging
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from circuits.errors import UserError
from circuits.paths import CONF_DIR

log = logging.getLogger("circuits.sweep")

SWEEP_FILE = "sweep.json"
PARALLEL_ENV = "CIRCUITS_PARALLEL_CELLS"
"""Set for the cells of a local parallel launcher: how many cells share this machine's cores
(each cell's torch gets its share of the threads, unless ``compute.threads`` is set)."""
MULTIRUN_FLAGS = ("-m", "--multirun")
LOCAL_PARALLEL = {"joblib", "submitit_local"}


@dataclass(frozen=True)
class Cell:
    """One combination of a sweep: its name (the swept values), its config overrides and its
    run directory."""

    name: str
    overrides: tuple[str, ...]
    dir: Path


def is_hydra(override: str) -> bool:
    return override.lstrip("+~").startswith(("hydra.", "hydra/"))


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=,+@-]+", "_", text)


def cell_names(combos: Sequence[Sequence[str]], swept: Sequence[str]) -> list[str]:
    """Each combination's directory name: its swept ``key=value`` pairs in the order given,
    made safe for a path (``default`` when nothing is swept); unique."""
    names: list[str] = []
    for combo in combos:
        parts = [o for o in combo if o.split("=", 1)[0].lstrip("+~") in swept]
        name = _safe(",".join(parts)) or "default"
        names.append(name if name not in names else f"{name}-{len(names)}")
    return names


def hydra_instance(search_dir: Path = CONF_DIR):
    """A Hydra instance over the package's configs (the schema registered), as the global one."""
    from hydra._internal.hydra import Hydra
    from hydra._internal.utils import create_config_search_path
    from hydra.core.global_hydra import GlobalHydra

    from circuits.config import register_schema

    register_schema()
    GlobalHydra.instance().clear()
    return Hydra.create_main_hydra2(task_name="circuits", config_search_path=create_config_search_path(str(search_dir)))


def expand(overrides: Sequence[str]) -> tuple[list[list[str]], list[str]]:
    """Every combination of the swept overrides (Hydra's sweep syntax), and the swept keys."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    hydra = hydra_instance()
    try:
        parsed = OverridesParser.create(config_loader=hydra.config_loader).parse_overrides(list(overrides))
        combos = BasicSweeper.split_arguments(parsed, None)[0]
    except HydraException as err:
        raise UserError(f"bad sweep override: {str(err).strip().splitlines()[0]}") from None
    return combos, [o.get_key_element().lstrip("+~") for o in parsed if o.is_sweep_override()]


def finished(cfg, root: Path) -> bool:
    """Whether the run directory ``root`` holds every stage of ``cfg`` finished under ``cfg``:
    done in its manifest, under the same config hash, every artifact still with the sha256 the
    manifest recorded (what a rerun would reuse). A damaged manifest is not finished."""
    from circuits.artifacts import RunReader
    from circuits.stages.context import config_hash

    if not (root / "manifest.json").is_file():
        return False
    try:
        reader = RunReader(root)
    except UserError:
        return False
    return all(reader.done(s) and reader.stage_entry(s).get("config_hash") == config_hash(cfg, s)
               and not reader.changed(s) for s in cfg.experiment.stages)


def failure(root: Path) -> str:
    """What the manifest of a failed cell says went wrong."""
    from circuits.artifacts import RunReader

    try:
        stages = RunReader(root).manifest.get("stages", {})
    except UserError as err:
        return str(err)
    for name, entry in stages.items():
        if entry.get("status") != "done":
            return f"stage {name} {entry.get('status')}: {entry.get('error', '')}".strip()
    return "did not finish"


def sweep_dir(overrides: Sequence[str], experiment: str) -> Path:
    """The sweep directory: ``out_dir`` (in a sweep it names the sweep, not a cell), else
    ``outputs/sweeps/<experiment>`` under the working directory."""
    out = [o.split("=", 1)[1] for o in overrides if o.startswith("out_dir=")]
    root = Path(out[-1]) if out and out[-1] else Path.cwd() / "outputs" / "sweeps" / _safe(experiment)
    return root.absolute()


def parallel(master, n_cells: int) -> int:
    """How many cells a local launcher runs at once (1 for the basic launcher and clusters)."""
    choice = str(master.hydra.runtime.choices.get("hydra/launcher", "basic"))
    if choice not in LOCAL_PARALLEL:
        return 1
    if choice == "joblib":
        n_jobs = int(master.hydra.launcher.get("n_jobs", -1))
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        n_jobs = n_jobs if n_jobs > 0 else max(1, cores + 1 + n_jobs)
        return max(1, min(n_jobs, n_cells))
    return max(1, n_cells)


def check_cell_dir(cell: Cell) -> None:
    from circuits.validate import check_out_dir

    try:
        check_out_dir(cell.dir)
    except UserError as err:
        raise UserError(f"cell {cell.name}: {err}") from None


def returned(job_return) -> dict | None:
    """The task's return value, or None when the job itself failed (its manifest tells why)."""
    try:
        value = job_return.return_value
    except Exception:
        return None
    return value if isinstance(value, dict) else None


def write_record(sweep_dir: Path, swept: Sequence[str], cells: Sequence[Cell], outcome: dict) -> None:
    from circuits.artifacts import atomic_write_bytes, dumps_json

    record = {"swept": list(swept), "cells": [
        {"name": c.name, "dir": c.name, "overrides": list(c.overrides), **outcome[c.name]} for c in cells]}
    sweep_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(sweep_dir / SWEEP_FILE, dumps_json(record).encode())


# --- one table across the cells ----------------------------------------------------------------


def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """Scalar leaves of a metrics tree as ``a.b.c`` keys (lists of scalars are skipped)."""
    out: dict[str, Any] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(_flatten(v, f"{prefix}{k}."))
    elif isinstance(obj, (int, float, str, bool)) or obj is None:
        out[prefix[:-1]] = obj
    return out


def _cells_of(sweep_dir: Path) -> tuple[list[dict], list[str]]:
    """The cells of a sweep directory (from ``sweep.json``, else every run directory under it)
    and the swept keys."""
    record_path = sweep_dir / SWEEP_FILE
    if record_path.is_file():
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
            return record["cells"], record["swept"]
        except (ValueError, KeyError, TypeError) as err:
            raise UserError(f"{record_path} is damaged ({err}): delete it to collect every run directory "
                            "under the sweep") from None
    dirs = sorted(p.parent for p in sweep_dir.rglob("manifest.json"))
    return [{"name": str(d.relative_to(sweep_dir)), "dir": str(d.relative_to(sweep_dir)), "overrides": []}
            for d in dirs], []


def collect(sweep_dir: str | Path) -> tuple[list[str], list[list[Any]]]:
    """One row per cell: its name, its swept values, its status and every scalar metric."""
    from circuits.artifacts import RunReader

    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise UserError(f"{sweep_dir} is not a directory: pass the sweep directory (it holds {SWEEP_FILE})")
    cells, swept = _cells_of(sweep_dir)
    if not cells:
        raise UserError(f"{sweep_dir} holds no run directories: run a sweep into it first")
    rows, keys = [], []
    for cell in cells:
        root = sweep_dir / cell["dir"]
        try:
            reader = RunReader(root) if (root / "manifest.json").is_file() else None
        except UserError as err:  # one damaged cell is reported in its row, not fatal to the table
            log.warning("%s", err)
            reader, cell = None, {**cell, "status": cell.get("status") or "damaged"}
        values = {o.split("=", 1)[0].lstrip("+~"): o.split("=", 1)[1] for o in cell.get("overrides", []) if "=" in o}
        stages = reader.manifest.get("stages", {}) if reader else {}
        status = cell.get("status") or ("finished" if stages and all(
            e.get("status") == "done" for e in stages.values()) else "incomplete")
        metrics = _flatten(reader.metrics) if reader else {}
        keys += [k for k in metrics if k not in keys]
        rows.append((cell["name"], [values.get(k, "") for k in swept], status, metrics))
    header = ["cell", *swept, "status", *keys]
    return header, [[name, *sv, status, *[m.get(k) for k in keys]] for name, sv, status, m in rows]


def _varying(header: Sequence[str], rows: Sequence[Sequence[Any]], first: int, limit: int = 12) -> list[int]:
    """Indices of the metric columns whose value differs across cells (at most ``limit``)."""
    idx = [i for i in range(first, len(header)) if len({json.dumps(r[i], default=str) for r in rows}) > 1]
    return idx[:limit]


def _figure(header: Sequence[str], rows: Sequence[Sequence[Any]], first: int):
    """Accuracy against perplexity per control method, one colour per cell, when the cells ran
    the control stage; else the varying numeric metrics side by side, one bar per cell."""
    from circuits.viz.plots import _plt

    plt = _plt()
    acc = {h.split(".")[2]: i for i, h in enumerate(header) if re.fullmatch(r"modulate\.methods\.[^.]+\.accuracy", h)}
    if acc:
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        for c, row in enumerate(rows):
            for m, (method, i) in enumerate(acc.items()):
                j = header.index(f"modulate.perplexity_ratio.{method}") if f"modulate.perplexity_ratio.{method}" in header else None
                if row[i] is None or j is None or row[j] is None:
                    continue
                ax.scatter(row[j], row[i], color=f"C{c % 10}", marker="osD^v<>p*h"[m % 10],
                           label=row[0] if m == 0 else None)
                ax.annotate(method, (row[j], row[i]), fontsize=6, xytext=(3, 2), textcoords="offset points")
        ax.set_xscale("log")
        ax.set_xlabel("median perplexity / unmodified")
        ax.set_ylabel("accuracy %")
        ax.set_title("control methods per cell: accuracy vs fluency")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
        return fig
    def is_numeric(i: int) -> bool:
        values = [r[i] for r in rows if r[i] is not None]
        return len(set(values)) > 1 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)

    numeric = [i for i in _varying(header, rows, first, limit=len(header)) if is_numeric(i)][:4]
    fig, axes = plt.subplots(1, max(1, len(numeric)), figsize=(3.2 * max(1, len(numeric)), 3.2), squeeze=False)
    for ax, i in zip(axes.flat, numeric):
        ax.bar(range(len(rows)), [float("nan") if r[i] is None else r[i] for r in rows], color=[f"C{c % 10}" for c in range(len(rows))])
        ax.set_xticks(range(len(rows)), [r[0] for r in rows], rotation=60, ha="right", fontsize=6)
        ax.set_title(header[i], fontsize=8)
    if not numeric:
        axes.flat[0].text(0.5, 0.5, "no numeric metric varies across the cells", ha="center", va="center")
        axes.flat[0].set_axis_off()
    fig.tight_layout()
    return fig


def _index_html(sweep_dir: Path, header: Sequence[str], rows: Sequence[Sequence[Any]], cols: Sequence[int]) -> str:
    def link(name: str) -> str:
        for target in ("report.html", "summary.md", "manifest.json"):
            if (sweep_dir / name / target).is_file():
                return f'<a href="{html.escape(name)}/{target}">{html.escape(name)}</a>'
        return html.escape(name)

    head = "".join(f"<th>{html.escape(header[i])}</th>" for i in cols)
    body = "".join("<tr><td>" + link(str(r[0])) + "</td>" + "".join(
        f"<td>{html.escape(_fmt(r[i]))}</td>" for i in cols[1:]) + "</tr>" for r in rows)
    return (f"<!doctype html><meta charset='utf-8'><title>sweep {html.escape(sweep_dir.name)}</title>"
            "<style>body{font-family:sans-serif}td,th{padding:2px 8px;border-bottom:1px solid #ddd}</style>"
            f"<h1>sweep {html.escape(str(sweep_dir))}</h1><img src='sweep.png' style='max-width:100%'>"
            f"<table><tr>{head}</tr>{body}</table>")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def write_tables(sweep_dir: str | Path) -> str:
    """``sweep.csv`` (every scalar metric), ``sweep.md`` (the swept values and the metrics that
    vary), ``sweep.png`` and ``index.html`` in the sweep directory; returns the markdown."""
    from circuits.artifacts import atomic_write_bytes
    from circuits.evaluation.tables import markdown

    sweep_dir = Path(sweep_dir)
    header, rows = collect(sweep_dir)
    buf = io.StringIO()
    csv.writer(buf).writerows([header, *[[_fmt(v) for v in r] for r in rows]])
    atomic_write_bytes(sweep_dir / "sweep.csv", buf.getvalue().encode())
    status = header.index("status")
    cols = [*range(status + 1), *_varying(header, rows, status + 1)]
    md = markdown([header[i] for i in cols], [[_fmt(r[i]) for i in cols] for r in rows])
    atomic_write_bytes(sweep_dir / "sweep.md", md.encode())
    fig = _figure(header, rows, status + 1)
    buf_png = io.BytesIO()
    fig.savefig(buf_png, format="png", dpi=110, bbox_inches="tight")
    _plt_close(fig)
    atomic_write_bytes(sweep_dir / "sweep.png", buf_png.getvalue())
    atomic_write_bytes(sweep_dir / "index.html", _index_html(sweep_dir, header, rows, cols).encode())
    return md


def _plt_close(fig) -> None:
    from circuits.viz.plots import _plt

    _plt().close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        print("usage: python -m circuits.sweep <sweep dir>\n\n" + __doc__.strip().split("\n\n")[-1])
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    try:
        md = write_tables(argv[0])
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    print(md)
    print(f"written: {Path(argv[0]) / 'sweep.md'}, sweep.csv, sweep.png, index.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
