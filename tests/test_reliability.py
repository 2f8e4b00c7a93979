"""Bad input and damaged files: one line that says what is wrong and what to do, a non-zero exit
code, no traceback, and a run directory left as it should be (untouched, or never created).

The cases run through :func:`circuits.run.main`, the command line's entry point, in-process
(a few also through a real subprocess, at the end). Damaged artifacts, loaders and limits that a
run reaches later have their own tests below the table.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from circuits import layout
from circuits.run import main

Setup = Callable[[Path], list[str]]
"""Makes what a case needs under a temporary directory and returns the command-line arguments."""


def _sev_file(tmp: Path, content: bytes) -> list[str]:
    bad = tmp / "bad.jsonl"
    bad.write_bytes(content)
    good = Path(__file__).resolve().parents[1] / "circuits" / "data" / "sev" / "test.jsonl"
    return ["data.source=files", f"data.discovery={bad}", f"data.test={good}", f"out_dir={tmp / 'run'}"]


def _existing_run(tmp: Path, name: str, content: str) -> list[str]:
    run = tmp / "run"
    run.mkdir()
    (run / layout.MANIFEST).write_text('{"stages": {}, "artifacts": {}}')
    (run / name).write_text(content)
    return [f"out_dir={run}"]


def _file_as_out_dir(tmp: Path) -> list[str]:
    (tmp / "file").write_text("x")
    return [f"out_dir={tmp / 'file'}"]


def _under_a_file(tmp: Path) -> list[str]:
    (tmp / "file").write_text("x")
    return [f"out_dir={tmp / 'file' / 'run'}"]


def _foreign_dir(tmp: Path) -> list[str]:
    (tmp / "home").mkdir()
    (tmp / "home" / "notes.txt").write_text("mine")
    return [f"out_dir={tmp / 'home'}"]


CASES: list[tuple[str, Setup, str]] = [
    ("out_dir is a file", _file_as_out_dir, "is a file, not a directory"),
    ("out_dir under a file", _under_a_file, "is a file, not a directory"),
    ("out_dir cannot be created", lambda t: ["out_dir=/proc/circuits-run"], "cannot create the run directory"),
    ("out_dir empty", lambda t: ["out_dir="], "out_dir is empty"),
    ("out_dir holds other files", _foreign_dir, "is not a run directory (no manifest.json)"),
    ("no stage to run", lambda t: ["experiment.stages=[]", f"out_dir={t / 'run'}"], "experiment.stages is empty"),
    ("a bad device string", lambda t: ["model.device=gpu0", f"out_dir={t / 'run'}"], "unknown model.device 'gpu0'"),
    ("cuda without cuda", lambda t: ["model.device=cuda:3", f"out_dir={t / 'run'}"], "CUDA is not available"),
    ("no devices", lambda t: ["model.n_devices=0", f"out_dir={t / 'run'}"], "model.n_devices must be >= 1"),
    ("a small model split over GPUs", lambda t: ["model.n_devices=2", f"out_dir={t / 'run'}"], "loads on one device"),
    ("a bad dtype", lambda t: ["model.dtype=float8", f"out_dir={t / 'run'}"], "unknown model.dtype 'float8'"),
    ("a huge seed", lambda t: [f"seed={2**70}", f"out_dir={t / 'run'}"], "seed must be in [0, 2**32)"),
    ("a negative seed", lambda t: ["seed=-1", f"out_dir={t / 'run'}"], "seed must be in [0, 2**32)"),
    ("non-UTF-8 data", lambda t: _sev_file(t, b'{"theme": "caf\xe9"}\n'), "not UTF-8 (byte"),
    ("a 20 MB line", lambda t: _sev_file(t, b'{"x": "' + b"a" * 20_000_000 + b'"}\n'), "a line of 20,000,010 bytes"),
    ("an SEV line missing a field", lambda t: _sev_file(t, b'{"theme": "T"}\n'), "missing field 'scenario'"),
    ("a corrupt manifest.json", lambda t: [f"out_dir={t / 'run'}"] if (t / "run").mkdir() or
     (t / "run" / layout.MANIFEST).write_text("{not json") else [], "manifest.json is damaged"),
    ("a corrupt metrics.json", lambda t: _existing_run(t, layout.METRICS, "[1, 2"), "metrics.json is damaged"),
    ("a manifest of another shape", lambda t: _existing_run(t, layout.MANIFEST, '{"stages": []}'),
     "manifest.json is damaged"),
    ("a model that runs remote code", lambda t: ["model=Qwen/Qwen3-0.6B", f"out_dir={t / 'run'}"],
     "model.trust_remote_code=true"),
    ("an unknown choice", lambda t: ["components.ablation=zeros", f"out_dir={t / 'run'}"],
     "unknown components.ablation 'zeros': choose from zero, mean, resample"),
]


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(("case", "setup", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_and_leaves_the_files_alone(tmp_path, capsys, case, setup, fragment):
    args = setup(tmp_path)
    before = _snapshot(tmp_path)
    code = main(["experiment=smoke", *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, err
    assert len(err) == 1 and err[0].startswith("error: ") and fragment in err[0], err
    assert _snapshot(tmp_path) == before, "a refused run wrote or changed files"


def test_a_reply_that_cannot_fit_the_context_is_refused_before_decoding(tmp_path, capsys):
    """emo-tiny's context is 256 tokens; a prompt of about 60 and a reply of up to 250 cannot fit."""
    code = main(["experiment=smoke", "smoke.max_new_tokens=250", f"out_dir={tmp_path / 'run'}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "exceed emo-tiny's context of 256 tokens" in err[0], err
    manifest = json.loads((tmp_path / "run" / layout.MANIFEST).read_text())
    assert manifest["stages"]["smoke"]["status"] == "failed"
    assert not (tmp_path / "run" / "smoke").exists()


def test_the_command_line_prints_one_line_without_a_traceback(tmp_path):
    """The same refusals from a real process: exit code 2, one line, no traceback."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    (tmp_path / "file").write_text("x")
    for args in (["out_dir="], [f"out_dir={tmp_path / 'file'}"], ["seed=99999999999999999999"]):
        res = subprocess.run([sys.executable, "-m", "circuits.run", "experiment=smoke", *args], capture_output=True,
                             text=True, env=env, timeout=300, cwd=tmp_path)
        lines = res.stderr.strip().splitlines()
        assert res.returncode == 2 and len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]
