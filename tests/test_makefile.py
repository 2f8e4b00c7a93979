"""The Makefile's install targets do what their help says on a machine that has not run them."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from circuits.paths import REPO_DIR

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _dry_run(target: str, env_dir: Path) -> str:
    """What ``make -n target`` would run with ``env_dir`` as the active virtualenv."""
    env = {**os.environ, "VIRTUAL_ENV": str(env_dir)}
    done = subprocess.run(["make", "-n", target], cwd=REPO_DIR, env=env, capture_output=True, text=True, check=True)
    return done.stdout


def test_install_qwen_installs_the_extra_where_it_is_missing(tmp_path):
    (tmp_path / ".circuits-installed").touch()  # the base install is done and newer than its inputs
    plan = _dry_run("install-qwen", tmp_path)
    assert '-e ".[qwen]"' in plan and str(tmp_path / ".circuits-qwen-installed") in plan
    assert "install.sh" not in plan


def test_install_qwen_does_nothing_once_installed(tmp_path):
    for stamp in (".circuits-installed", ".circuits-qwen-installed"):
        (tmp_path / stamp).touch()
    assert "pip install" not in _dry_run("install-qwen", tmp_path)


def test_reproduce_qwen_installs_the_extra_first(tmp_path):
    (tmp_path / ".circuits-installed").touch()
    plan = _dry_run("reproduce-qwen", tmp_path).splitlines()
    install = next(i for i, line in enumerate(plan) if '".[qwen]"' in line)
    run = next(i for i, line in enumerate(plan) if "model=qwen2.5-coder-0.5b-instruct" in line)
    assert install < run
