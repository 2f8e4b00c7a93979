"""experiment=compare: finished runs side by side on relative depth, read from their artifacts."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from circuits import layout
from circuits.artifacts import RunReader
from circuits.evaluation import crossmodel
from circuits.run import compose, run


def test_relative_depth_of_sites() -> None:
    assert crossmodel.site_depth("L0.attn", 4) == 0.0625
    assert crossmodel.site_depth("L3.mlp", 4) == 0.9375
    assert crossmodel.site_depth("L29.mlp", 30) == pytest.approx(29.75 / 30)
    with pytest.raises(ValueError):
        crossmodel.site_depth("L3.resid", 4)


def test_the_profile_reads_what_the_run_wrote(small_run: Path) -> None:
    """Every landmark, recomputed the slow way from the run's own files."""
    p = crossmodel.profile(small_run)
    run = RunReader(small_run)
    m = run.metrics
    n = json.loads((small_run / "directions/directions.json").read_text())["n_layers"]
    assert p.n_layers == n and p.model == "emo-tiny"
    probe = m["directions"]["probe_accuracy"]
    first = next((s for s in probe if probe[s] >= crossmodel.PROBE_BAR), None)  # depth order
    assert p.probe_first == (None if first is None else crossmodel.site_depth(first, n))
    imp = m["circuits"]["importance_mean_over_emotions"]
    assert p.importance_peak == crossmodel.site_depth(max(imp, key=imp.get), n)
    counts = np.zeros(n)
    for e in p.emotions:
        prof = run.read_json(f"circuits/circuit_{e}.json")["layer_profile"]
        for kind in ("heads", "neurons"):
            for layer, c in prof[kind].items():
                counts[int(layer)] += c
    depths = (np.arange(n) + 0.5) / n
    centroid = float((counts * depths).sum() / counts.sum())
    assert p.budget_centroid == pytest.approx(centroid)
    assert p.budget_spread == pytest.approx(np.sqrt((counts * (depths - centroid) ** 2).sum() / counts.sum()))
    assert np.allclose(np.diag(p.cosines), 1.0, atol=1e-5) and np.allclose(p.cosines, p.cosines.T)
    for method, s in m["modulate"]["methods"].items():
        assert p.control[method]["accuracy"] == s["accuracy"]


def test_compare_builds_the_table_figures_and_report(small_run: Path, tmp_path: Path) -> None:
    second = tmp_path / "second"
    shutil.copytree(small_run, second)
    out = tmp_path / "compare"
    run(compose(["experiment=compare", f"out_dir={out}", f"compare.runs=[{small_run},{second}]", "progress=false"]))
    reader = RunReader(out)
    for rel in (layout.COMPARE.depth.path(), layout.COMPARE.cosines.path(), layout.COMPARE.models.file(".csv"),
                layout.COMPARE.control.file(".md"), "summary.md", "report.html"):
        assert reader.exists(rel), rel
    rows = reader.read_text(layout.COMPARE.models.file(".csv")).strip().splitlines()
    assert len(rows) == 3 and rows[1].startswith("emo-tiny,")
    report = reader.read_text("report.html")
    assert "compare/depth.png" in report or "data:image/png" in report
    assert "probes separate" in report, "the table is in the report"
    assert "compare/depth.png" in reader.read_text("summary.md")
    assert reader.metrics["compare"]["models"] == ["emo-tiny", "emo-tiny"]


def test_an_unfinished_or_missing_run_is_one_line(small_run: Path, tmp_path: Path) -> None:
    partial = tmp_path / "partial"
    shutil.copytree(small_run, partial)
    manifest = json.loads((partial / "manifest.json").read_text())
    manifest["stages"]["circuits"]["status"] = "failed"
    (partial / "manifest.json").write_text(json.dumps(manifest))
    for runs, expected in (([small_run, partial], "has not finished stage circuits"),
                           ([small_run, tmp_path / "nowhere"], "is not a run directory"),
                           ([small_run], "compare needs at least two finished runs")):
        proc = subprocess.run([sys.executable, "-m", "circuits.run", "experiment=compare", f"out_dir={tmp_path / 'c'}",
                               f"compare.runs=[{','.join(map(str, runs))}]"], capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 2, proc.stderr
        lines = [line for line in proc.stderr.splitlines() if line.strip() and "circuits.stages" not in line]
        assert len(lines) == 1 and expected in lines[0], proc.stderr
