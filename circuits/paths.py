"""Where things live: the package's shipped assets, the user cache, the shared study data."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
"""The checkout's root when the package runs from a checkout (the study's data sits beside it)."""
CONF_DIR = PACKAGE_DIR / "conf"
"""The Hydra configuration, shipped inside the package so that an installed wheel runs."""
EMO_TINY_DIR = PACKAGE_DIR / "testbed" / "checkpoint"
"""The shipped ``emo-tiny`` checkpoint (weights, config, tokenizer) and its judge."""
PROJECT_SEV_DIR = PACKAGE_DIR / "data" / "sev"
"""The project's own generated SEV splits (``discovery.jsonl``, ``test.jsonl``)."""


def cache_dir() -> Path:
    """The user cache (converted weights): ``$CIRCUITS_CACHE`` or ``~/.cache/circuits``."""
    root = os.environ.get("CIRCUITS_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "circuits"
    )
    return Path(root)


def shared_sev_dir() -> Path:
    """The study's SEV release, when this checkout sits beside ``../shared`` (CI and dev machines)."""
    env = os.environ.get("CIRCUITS_STUDY_SEV")
    return Path(env) if env else REPO_DIR.parent / "shared" / "data" / "sev"
