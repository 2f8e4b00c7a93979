"""Resolving the discovery and test splits of a data source to files, and loading them."""

from __future__ import annotations

from pathlib import Path

from circuits.data.sev import SEVSplit, load_sev
from circuits.errors import UserError
from circuits.paths import PROJECT_SEV_DIR, shared_sev_dir
from circuits.vocab import DataSource, Split

STUDY_FILES = {Split.DISCOVERY: "sev.jsonl", Split.TEST: "test_set.jsonl"}


def split_paths(source: DataSource, discovery: str | None = None, test: str | None = None) -> dict[Split, Path]:
    """The file of each split for a data source (``discovery``/``test``: the files of ``files``)."""
    if source is DataSource.PROJECT:
        return {s: PROJECT_SEV_DIR / f"{s}.jsonl" for s in Split}
    if source is DataSource.STUDY:
        return {s: shared_sev_dir() / STUDY_FILES[s] for s in Split}
    paths = {Split.DISCOVERY: discovery, Split.TEST: test}
    return {s: Path(p) for s, p in paths.items() if p}


def load_split(paths: dict[Split, Path], name: Split, per_theme: int | None = None, seed: int = 0) -> SEVSplit:
    """Load split ``name`` from ``paths`` (:func:`split_paths`) and take a stratified subset of
    ``per_theme`` skeletons per theme (None: all of it)."""
    if name not in paths:
        raise UserError(f"no file configured for the {name} split: set data.{name}=<path>")
    split = load_sev(paths[name], name=str(name))
    return split.subset(per_theme, seed=seed)


def effective_per_theme(per_theme: int | None, cpu_per_theme: int | None, on_gpu: bool) -> int | None:
    """The subset size a run uses: ``per_theme`` (e.g. ``data.per_theme``; None: all), capped by
    the model's CPU budget on CPU."""
    if on_gpu or cpu_per_theme is None:
        return per_theme
    return cpu_per_theme if per_theme is None else min(per_theme, cpu_per_theme)


def project_split(name: Split | str, per_theme: int | None = None, seed: int = 0) -> SEVSplit:
    """One of the package's own SEV splits (``discovery`` or ``test``), optionally a stratified
    subset of ``per_theme`` skeletons per theme."""
    split = Split[name] if isinstance(name, str) else name
    return load_split(split_paths(DataSource.PROJECT), split, per_theme, seed)
