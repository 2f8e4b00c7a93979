"""Sweeps through the command line: Hydra multirun with each launcher, resumed, with a broken
cell; the cross-cell table; the checks made before any cell starts."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import subprocess
import sys

import pytest

from circuits.paths import REPO_DIR
from circuits.sweep import SWEEP_FILE, cell_names, collect, expand, write_tables

GRID = ("seed=1,2", "smoke.n_prompts=2,3")
CELLS = ["seed=1,smoke.n_prompts=2", "seed=1,smoke.n_prompts=3", "seed=2,smoke.n_prompts=2", "seed=2,smoke.n_prompts=3"]
LAUNCHERS = {"basic": [], "joblib": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
             "submitit_local": ["hydra/launcher=submitit_local", "hydra.launcher.timeout_min=10"]}


def _sweep(sweep_dir, *args, timeout=900):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "circuits.run", "-m", "experiment=smoke", *GRID, f"out_dir={sweep_dir}",
                           *args], capture_output=True, text=True, cwd=REPO_DIR, env=env, timeout=timeout)


def _status(cell_dir) -> str:
    return json.loads((cell_dir / "manifest.json").read_text())["stages"]["smoke"]["status"]


def _record(sweep_dir) -> dict[str, dict]:
    return {c["name"]: c for c in json.loads((sweep_dir / SWEEP_FILE).read_text())["cells"]}


@pytest.mark.slow
@pytest.mark.parametrize("launcher", list(LAUNCHERS))
def test_a_2x2_sweep_runs_resumes_and_survives_a_broken_cell(tmp_path, launcher):
    sweep = tmp_path / "sweep"
    res = _sweep(sweep, *LAUNCHERS[launcher])
    assert res.returncode == 0, res.stderr[-3000:]
    assert sorted(p.name for p in sweep.iterdir() if (p / "manifest.json").exists()) == CELLS
    for name in CELLS:
        assert _status(sweep / name) == "done"
        cfg = (sweep / name / "config.yaml").read_text()
        seed, n = re.fullmatch(r"seed=(\d),smoke.n_prompts=(\d)", name).groups()
        assert f"seed: {seed}\n" in cfg and f"n_prompts: {n}\n" in cfg  # each cell ran its own values
    assert {c["status"] for c in _record(sweep).values()} == {"finished"}
    if launcher == "joblib":  # two cells share the two cores: each gets its share of the threads
        cores = len(os.sched_getaffinity(0))
        threads = json.loads((sweep / CELLS[0] / "manifest.json").read_text())["run"]["threads"]
        assert threads == max(1, cores // 2)

    stamps = {name: (sweep / name / "manifest.json").stat().st_mtime_ns for name in CELLS}
    res = _sweep(sweep, *LAUNCHERS[launcher])
    assert res.returncode == 0, res.stderr[-3000:]
    assert {c["status"] for c in _record(sweep).values()} == {"skipped"}
    assert "4 skipped" in res.stdout
    assert stamps == {name: (sweep / name / "manifest.json").stat().st_mtime_ns for name in CELLS}

    if launcher == "basic":  # an artifact edited since it was written: that cell runs again, the others stay
        replies = sweep / CELLS[2] / "smoke" / "replies.jsonl"
        replies.write_text(replies.read_text().replace("a", "b", 1))
        res = _sweep(sweep, *LAUNCHERS[launcher])
        assert res.returncode == 0, res.stderr[-3000:]
        assert {n: c["status"] for n, c in _record(sweep).items()} == {
            n: "finished" if n == CELLS[2] else "skipped" for n in CELLS}

    broken = tmp_path / "broken"
    (broken / CELLS[1]).mkdir(parents=True)
    (broken / CELLS[1] / "manifest.json").write_text("{damaged")
    res = _sweep(broken, *LAUNCHERS[launcher])
    assert res.returncode == 1
    record = _record(broken)
    assert record[CELLS[1]]["status"] == "failed" and "damaged" in record[CELLS[1]]["error"]
    assert f"failed: {CELLS[1]}" in res.stderr
    for name in CELLS[:1] + CELLS[2:]:
        assert record[name]["status"] == "finished" and _status(broken / name) == "done"


def test_a_bad_value_in_any_cell_stops_the_sweep_before_any_cell_starts(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    for bad in (["smoke.n_prompts=2,x"], ["emotions=[anger],[joy]"], ["hydra/launcher=nope"], ["seed=1,2", "out_dir=a,b"]):
        res = subprocess.run([sys.executable, "-m", "circuits.run", "-m", "experiment=smoke", "seed=1,2",
                              f"out_dir={tmp_path / 'sweep'}", *bad], capture_output=True, text=True, cwd=REPO_DIR,
                             env=env, timeout=300)
        assert res.returncode == 2, (bad, res.stderr[-2000:])
        assert len(res.stderr.strip().splitlines()) == 1 and res.stderr.startswith("error: "), res.stderr
        assert "Traceback" not in res.stderr
        assert not (tmp_path / "sweep").exists()


def test_expand_takes_hydras_sweep_syntax_and_names_cells_by_their_swept_values():
    combos, swept = expand(["experiment=smoke", "seed=range(0,3)", "model=glob(emo*)", "decoding.batch_size=4,8"])
    assert swept == ["seed", "model", "decoding.batch_size"]
    assert len(combos) == 3 * 1 * 2
    names = cell_names(combos, swept)
    assert names[0] == "seed=0,model=emo-tiny,decoding.batch_size=4" and len(set(names)) == 6
    assert cell_names([["experiment=smoke"]], []) == ["default"]
    assert cell_names([["model=Qwen/Qwen2.5-0.5B-Instruct"]], ["model"]) == ["model=Qwen_Qwen2.5-0.5B-Instruct"]


def test_the_sweep_table_collects_every_cell(tmp_path):
    """Two cells written by hand (a finished one with control metrics, a failed one): the table
    has a row each, the swept values and the metrics that vary, and the figure and index exist."""
    from circuits.artifacts import RunDir

    sweep = tmp_path / "sweep"
    for name, acc in [("seed=0", 90.0), ("seed=1", None)]:
        run = RunDir(sweep / name)
        if acc is None:
            with pytest.raises(RuntimeError), run.stage("modulate"):
                raise RuntimeError("this cell failed")
        else:
            with run.stage("modulate"):
                run.add_metrics("modulate", {"methods": {"circuit": {"accuracy": acc}, "none": {"accuracy": 1.0}},
                                             "perplexity_ratio": {"circuit": 1.2, "none": 1.0}})
        (sweep / name / "report.html").write_text("<html></html>")
    (sweep / SWEEP_FILE).write_text(json.dumps({"swept": ["seed"], "cells": [
        {"name": "seed=0", "dir": "seed=0", "overrides": ["experiment=smoke", "seed=0"], "status": "finished"},
        {"name": "seed=1", "dir": "seed=1", "overrides": ["experiment=smoke", "seed=1"], "status": "failed"}]}))
    header, rows = collect(sweep)
    assert header[:3] == ["cell", "seed", "status"]
    assert [r[:3] for r in rows] == [["seed=0", "0", "finished"], ["seed=1", "1", "failed"]]
    assert rows[0][header.index("modulate.methods.circuit.accuracy")] == 90.0
    assert rows[1][header.index("modulate.methods.circuit.accuracy")] is None
    md = write_tables(sweep)
    assert "modulate.methods.circuit.accuracy" in md and "| seed=1 | 1 | failed |" in md
    for name in ("sweep.csv", "sweep.md", "sweep.png", "index.html"):
        assert (sweep / name).stat().st_size > 0
    assert 'href="seed=0/report.html"' in (sweep / "index.html").read_text()
    res = subprocess.run([sys.executable, "-m", "circuits.sweep", str(sweep)], capture_output=True, text=True,
                         cwd=REPO_DIR, timeout=300)
    assert res.returncode == 0 and "| seed=0 | 0 | finished |" in res.stdout
    res = subprocess.run([sys.executable, "-m", "circuits.sweep", str(tmp_path / "nowhere")], capture_output=True,
                         text=True, cwd=REPO_DIR, timeout=300)
    assert res.returncode == 2 and res.stderr.startswith("error: ") and "Traceback" not in res.stderr


def test_the_launcher_plugins_are_pinned_to_the_versions_installed():
    """The plugins are pinned to releases that work with the Hydra release the project uses;
    the sweep test above runs each of them."""
    pins = dict(re.findall(r'"([a-z0-9-]+)==([\w.]+)"', (REPO_DIR / "pyproject.toml").read_text()))
    for plugin in ("hydra-joblib-launcher", "hydra-submitit-launcher", "submitit"):
        assert importlib.metadata.version(plugin) == pins[plugin]
    assert importlib.metadata.version("hydra-core").startswith("1.3.")
