"""The package as users get it: ``import circuits`` gives the public API, and a wheel built from
the checkout, installed without ``-e`` into a fresh virtual environment, runs the command line
from a directory outside the checkout, offline."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

import circuits
from circuits.paths import REPO_DIR


def test_every_public_name_resolves_to_what_its_module_defines():
    import importlib

    for name in circuits.__all__:
        value = getattr(circuits, name)
        module = circuits._EXPORTS.get(name) or circuits._MODULES[name]
        source = importlib.import_module(module)
        assert value is (source if name in circuits._MODULES else getattr(source, name)), name
    assert set(circuits.__all__) <= set(dir(circuits))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        circuits.nope  # noqa: B018


def test_importing_circuits_loads_no_heavy_module():
    code = "import sys, circuits; print(sorted(m for m in ('torch', 'transformer_lens', 'circuits.model') if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stdout + proc.stderr


def _build_wheel(tmp: Path) -> Path:
    """A wheel of a copy of the checkout (building in place would write build/ and egg-info)."""
    src = tmp / "src"
    shutil.copytree(REPO_DIR, src, ignore=shutil.ignore_patterns(
        ".git", ".venv", "outputs", "build", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
                    "-w", str(tmp / "dist"), str(src)], check=True, capture_output=True, timeout=600)
    [wheel] = (tmp / "dist").glob("circuits-*.whl")
    return wheel


@pytest.mark.slow
def test_wheel_installed_without_editable_runs_the_smoke_experiment_outside_the_checkout(tmp_path):
    wheel = _build_wheel(tmp_path)
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in ("circuits/conf/config.yaml", "circuits/conf/experiment/smoke.yaml", "circuits/conf/model/emo-tiny.yaml",
                     "circuits/testbed/checkpoint/model.safetensors", "circuits/data/sev/discovery.jsonl",
                     "circuits/data/themes.json", "circuits/testbed/replies.json"):
        assert required in names, required
    # A fresh environment that reuses this one's installed dependencies (a .pth file adds this
    # environment's site-packages; the editable install of the checkout is not carried along).
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "reuse_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)], check=True,
                   capture_output=True, timeout=300)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": ""}
    where = subprocess.run([str(python), "-c", "import circuits; print(circuits.__file__)"], capture_output=True,
                           text=True, cwd=elsewhere, env=env, timeout=300)
    assert where.returncode == 0 and where.stdout.strip().startswith(str(venv)), where.stdout + where.stderr
    res = subprocess.run([str(python), "-m", "circuits.run", "experiment=smoke"], capture_output=True, text=True,
                         cwd=elsewhere, env=env, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    run_dir = elsewhere / "outputs" / "smoke" / "emo-tiny"
    assert (run_dir / "smoke" / "replies.jsonl").is_file() and (run_dir / "manifest.json").is_file()
    bad = subprocess.run([str(python), "-m", "circuits.run", "experiment=smoke", "judge.kind=oracle"],
                         capture_output=True, text=True, cwd=elsewhere, env=env, timeout=300)
    assert bad.returncode == 2 and bad.stderr.strip().startswith("error: unknown judge.kind 'oracle'")
