"""Checks on a composed :class:`~circuits.config.Config` that a schema cannot make, run before any work.

Keys, types and named choices are checked earlier, when the YAML is merged onto the typed schema
(every choice is an enum of :mod:`circuits.vocab`). What is left here: names of emotions, data
files, cross-field rules, positive sizes, the model's name, and layer indices against the
model's depth.
"""

from __future__ import annotations

from pathlib import Path

from circuits.config import Config
from circuits.emotions import EMOTIONS, check_emotions
from circuits.errors import UserError
from circuits.vocab import DataSource


def validate(cfg: Config) -> None:
    """Raise :class:`UserError` on the first bad value (one line, names the value)."""
    from circuits.model.loading import check_model_name, known_layers

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
    check_model_name(cfg.model.name)
    n_layers = known_layers(cfg.model.name)
    if n_layers is not None:
        validate_layers(cfg, n_layers)


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


def _check_positive(cfg: Config) -> None:
    checks = {
        "decoding.max_new_tokens": cfg.decoding.max_new_tokens,
        "decoding.batch_size": cfg.decoding.batch_size,
        "smoke.n_prompts": cfg.smoke.n_prompts,
        "train.steps": cfg.train.steps,
        "train.batch_size": cfg.train.batch_size,
        "modulate.random_draws": cfg.modulate.random_draws,
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
