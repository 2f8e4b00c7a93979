"""Run directories: atomic writes, checksums in the manifest, stage status on failure."""

from __future__ import annotations

import hashlib
import json

import pytest

from circuits.artifacts import RunDir, atomic_write_bytes


def test_atomic_write_leaves_old_file_when_interrupted(tmp_path, monkeypatch):
    path = tmp_path / "a.json"
    atomic_write_bytes(path, b"old")

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr("os.replace", boom)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_manifest_records_sha_and_stage_status(tmp_path):
    run = RunDir(tmp_path)
    with run.stage("one", "h1"):
        run.write_text("one/x.txt", "hello")
    with pytest.raises(RuntimeError):
        with run.stage("two", "h2"):
            run.write_text("two/y.txt", "partial")
            raise RuntimeError("boom")
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["stages"]["one"]["status"] == "done"
    assert manifest["stages"]["two"]["status"] == "failed" and "boom" in manifest["stages"]["two"]["error"]
    assert manifest["artifacts"]["one/x.txt"]["sha256"] == hashlib.sha256(b"hello").hexdigest()
    assert RunDir(tmp_path).stage_done("one", "h1")
    assert not RunDir(tmp_path).stage_done("one", "other-config")
    assert not RunDir(tmp_path).stage_done("two", "h2")


def test_stage_done_requires_artifacts_present(tmp_path):
    run = RunDir(tmp_path)
    with run.stage("one", "h"):
        run.write_text("one/x.txt", "hello")
    (tmp_path / "one" / "x.txt").unlink()
    assert not RunDir(tmp_path).stage_done("one", "h")
