"""Resolving the discovery and test splits named by a :class:`~circuits.config.DataConfig`."""

from __future__ import annotations

from pathlib import Path

from circuits.config import DataConfig
from circuits.data.sev import SEVSplit, load_sev
from circuits.paths import PROJECT_SEV_DIR, shared_sev_dir

SPLITS = ("discovery", "test")
STUDY_FILES = {"discovery": "sev.jsonl", "test": "test_set.jsonl"}


def split_paths(data: DataConfig) -> dict[str, Path]:
    """The file of each split for a data source."""
    if data.source == "project":
        return {s: PROJECT_SEV_DIR / f"{s}.jsonl" for s in SPLITS}
    if data.source == "study":
        return {s: shared_sev_dir() / STUDY_FILES[s] for s in SPLITS}
    paths = {"discovery": data.discovery, "test": data.test}
    return {s: Path(p) for s, p in paths.items() if p}


def load_split(data: DataConfig, name: str, per_theme: int | None = None) -> SEVSplit:
    """Load split ``name`` and take a stratified subset of ``per_theme`` skeletons per theme."""
    paths = split_paths(data)
    if name not in paths:
        from circuits.errors import UserError

        raise UserError(f"no file configured for the {name} split: set data.{name}=<path>")
    split = load_sev(paths[name], name=name)
    return split.subset(per_theme, seed=data.subset_seed)


def effective_per_theme(per_theme: int | None, cpu_per_theme: int | None, on_gpu: bool) -> int | None:
    """The subset size a run uses: ``per_theme`` (e.g. ``data.per_theme``; None: all), capped by
    the model's CPU budget on CPU."""
    if on_gpu or cpu_per_theme is None:
        return per_theme
    return cpu_per_theme if per_theme is None else min(per_theme, cpu_per_theme)
