"""Checks on a composed :class:`~circuits.config.Config` that a schema cannot make, run before any work.

Keys, types and named choices are checked earlier, when the YAML is merged onto the typed schema
(every choice is an enum of :mod:`circuits.vocab`). What is left here: names of emotions, data
files, cross-field rules, positive sizes, the model's name, and layer indices against the
model's depth.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from circuits.config import Config
from circuits.data.sev import load_sev
from circuits.emotions import EMOTIONS, check_emotions
from circuits.errors import UserError
from circuits.vocab import DataSource


def validate(cfg: Config) -> None:
    """Raise :class:`UserError` on the first bad value (one line, names the value)."""
    from circuits.model.loading import check_model_name, known_layers

    _check_run(cfg)
    check_emotions(cfg.emotions)
    if cfg.components.head_score not in cfg.components.metrics:
        raise UserError(f"components.head_score {cfg.components.head_score} must be one of components.metrics "
                        f"({', '.join(map(str, cfg.components.metrics))})")
    if cfg.reference.segment is not None and (len(cfg.reference.segment) != 2 or cfg.reference.segment[0] > cfg.reference.segment[1]):
        raise UserError(f"reference.segment must be [first_layer, last_layer], got {cfg.reference.segment}")
    if not 0 < cfg.circuit.cap <= 1:
        raise UserError(f"circuit.cap must be in (0, 1], got {cfg.circuit.cap}")
    if not cfg.circuit.alphas or min(cfg.circuit.alphas) <= 0:
        raise UserError(f"circuit.alphas must be positive numbers, got {cfg.circuit.alphas}")
    m = cfg.modulate
    for key, table in (("modulate.scales", m.scales), ("modulate.reply_scales", m.reply_scales)):
        for e in table:
            if e not in EMOTIONS:
                raise UserError(f"unknown emotion {e!r} in {key}: choose from {', '.join(EMOTIONS)}")
    _check_data(cfg)
    _check_positive(cfg)
    check_model_name(cfg.model.name, cfg.model.trust_remote_code, cfg.model.backend, cfg.model.path)
    n_layers = known_layers(cfg.model.name, cfg.model.path)
    if n_layers is not None:
        validate_layers(cfg, n_layers)


def _check_devices(cfg: Config) -> None:
    """``model.n_devices``: a pretrained model split over that many GPUs (TransformerLens puts
    consecutive blocks on consecutive devices)."""
    from circuits.model.loading import EMBEDDED

    n = cfg.model.n_devices
    if n < 1:
        raise UserError(f"model.n_devices must be >= 1, got {n}")
    if n == 1:
        return
    if cfg.model.name in EMBEDDED:
        raise UserError(f"model.n_devices={n}: {cfg.model.name} is small and loads on one device; use model.n_devices=1")
    if cfg.model.device == "cpu" or cfg.model.device == "mps":
        raise UserError(f"model.n_devices={n} needs CUDA devices, not model.device={cfg.model.device}")
    import torch

    available = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if available < n:
        raise UserError(f"model.n_devices={n} but {available} CUDA device(s) are visible: use model.n_devices<={max(available, 1)}")


def _check_run(cfg: Config) -> None:
    """What the run itself needs: stages to run, a usable seed and device, a place to write."""
    from circuits.vocab import StageName

    if not cfg.experiment.stages:
        raise UserError(f"experiment.stages is empty: list the stages to run (choose from {', '.join(StageName.values())})")
    if not 0 <= cfg.seed < 2**32:
        raise UserError(f"seed must be in [0, 2**32), got {cfg.seed}")
    if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", cfg.model.device):
        raise UserError(f"unknown model.device {cfg.model.device!r}: use auto, cpu, cuda, cuda:<index> or mps")
    if cfg.model.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise UserError(f"model.device={cfg.model.device} but CUDA is not available: use model.device=auto or cpu")
    _check_devices(cfg)
    if cfg.out_dir is not None:
        if not cfg.out_dir.strip():
            raise UserError("out_dir is empty: leave it out (runs go to outputs/<experiment>/<model>) or give a directory")
        check_out_dir(Path(cfg.out_dir))


def check_out_dir(path: Path) -> None:
    """A run directory must be new, empty, or a run directory already (it holds manifest.json),
    and writable: refuse a file, a path under a file, or a directory of other files."""
    from circuits.layout import MANIFEST

    for parent in [path, *path.parents]:
        if parent.exists() and not parent.is_dir():
            raise UserError(f"out_dir {path}: {parent} is a file, not a directory: choose another out_dir")
        if parent.exists():
            if parent == path and any(path.iterdir()) and not (path / MANIFEST).is_file():
                raise UserError(f"out_dir {path} already holds files and is not a run directory (no {MANIFEST}): "
                                "choose a new or empty directory")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise UserError(f"out_dir {path}: {parent} is not writable: choose another out_dir")
            break


def _check_data(cfg: Config) -> None:
    from circuits.data.splits import split_paths

    d = cfg.data
    if d.per_theme is not None and d.per_theme < 1:
        raise UserError(f"data.per_theme must be >= 1 or null, got {d.per_theme}")
    for name, path in split_paths(d.source, d.discovery, d.test).items():
        if not Path(path).is_file():
            hint = (
                "the study's files live in ../shared/data/sev (or set CIRCUITS_STUDY_SEV)"
                if d.source is DataSource.STUDY
                else f"set data.{name}=<path to an SEV .jsonl file>"
            )
            raise UserError(f"data file not found for the {name} split: {path} ({hint})")
        load_sev(path)  # the whole file is read and checked before any work (it is small)


def _check_positive(cfg: Config) -> None:
    checks = {
        "decoding.max_new_tokens": cfg.decoding.max_new_tokens,
        "decoding.batch_size": cfg.decoding.batch_size,
        "smoke.n_prompts": cfg.smoke.n_prompts,
        "train.steps": cfg.train.steps,
        "train.batch_size": cfg.train.batch_size,
        "modulate.random_draws": cfg.modulate.random_draws,
        "compute.workers": cfg.compute.workers,
        "compute.threads": cfg.compute.threads if cfg.compute.threads is not None else 1,
    }
    for key, value in checks.items():
        if value < 1:
            raise UserError(f"{key} must be >= 1, got {value}")
    m = cfg.modulate
    for key, steps in (("modulate.reply_steps", [m.reply_steps]), ("modulate.reply_steps_grid", list(m.reply_steps_grid))):
        if any(k is not None and k < 1 for k in steps):
            raise UserError(f"{key} must hold decoding-step counts >= 1 or null (every step), got {steps}")
    if not m.reply_steps_grid:
        raise UserError("modulate.reply_steps_grid is empty: give at least one entry, e.g. [null]")
    if cfg.decoding.temperature <= 0:
        raise UserError(f"decoding.temperature must be > 0, got {cfg.decoding.temperature}")
    if not 0 < cfg.decoding.top_p <= 1:
        raise UserError(f"decoding.top_p must be in (0, 1], got {cfg.decoding.top_p}")


def layer_fields(cfg: Config) -> dict[str, list[int]]:
    """Every config field that names layers, as lists."""
    return {"steering.layers": list(cfg.steering.layers or []), "reference.segment": list(cfg.reference.segment or [])}


def validate_layers(cfg: Config, n_layers: int) -> None:
    """Layer indices must lie in [0, n_layers)."""
    for key, layers in layer_fields(cfg).items():
        for layer in layers:
            if not 0 <= layer < n_layers:
                raise UserError(
                    f"layer {layer} in {key} is out of range: {cfg.model.name} has layers 0..{n_layers - 1}"
                )
