"""Value checks on a composed :class:`~circuits.config.Config`, run before any work.

Type and key errors are caught earlier, when the YAML is merged onto the schema; this module
checks what a schema cannot: names of emotions, stages and judges, data files, and layer
indices against the model's depth.
"""

from __future__ import annotations

from pathlib import Path

from circuits.config import Config
from circuits.emotions import EMOTIONS, check_emotions
from circuits.errors import UserError

DATA_SOURCES = ("project", "study", "files")
TEMPLATES = ("system", "user")


def validate(cfg: Config) -> None:
    """Raise :class:`UserError` on the first bad value (one line, names the value)."""
    from circuits.attribution.heads import Ablation, Metric
    from circuits.directions.aggregators import Aggregator
    from circuits.evaluation.judges import JUDGES
    from circuits.interventions import Positions
    from circuits.model.loading import DTYPES, known_layers
    from circuits.sites import ReadOut
    from circuits.stages import STAGES

    check_emotions(cfg.emotions)
    for stage in cfg.experiment.stages:
        if stage not in STAGES:
            raise UserError(f"unknown stage {stage!r} in experiment.stages: choose from {', '.join(STAGES)}")
    if cfg.model.template not in TEMPLATES:
        raise UserError(f"unknown model.template {cfg.model.template!r}: choose from {', '.join(TEMPLATES)}")
    for t in cfg.elicit.templates:
        if t != "model" and t not in TEMPLATES:
            raise UserError(f"unknown template {t!r} in elicit.templates: choose from model, {', '.join(TEMPLATES)}")
    if cfg.model.dtype not in DTYPES:
        raise UserError(f"unknown model.dtype {cfg.model.dtype!r}: choose from {', '.join(DTYPES)}")
    if cfg.judge.kind not in JUDGES:
        raise UserError(f"unknown judge.kind {cfg.judge.kind!r}: choose from {', '.join(JUDGES)}")
    _check_enum("directions.aggregator", cfg.directions.aggregator, [a.value for a in Aggregator])
    _check_enum("steering.positions", cfg.steering.positions, [p.value for p in Positions])
    _check_enum("steering.readout", cfg.steering.readout, [r.value for r in ReadOut])
    _check_enum("steering.split", cfg.steering.split, ["discovery", "test"])
    _check_enum("components.ablation", cfg.components.ablation, [a.value for a in Ablation])
    for m in [*cfg.components.metrics, cfg.components.head_score]:
        _check_enum("components.metrics", m, [x.value for x in Metric])
    if cfg.components.head_score not in cfg.components.metrics:
        raise UserError(f"components.head_score {cfg.components.head_score!r} must be one of components.metrics")
    if cfg.reference.segment is not None and (len(cfg.reference.segment) != 2 or cfg.reference.segment[0] > cfg.reference.segment[1]):
        raise UserError(f"reference.segment must be [first_layer, last_layer], got {cfg.reference.segment}")
    _check_enum("circuit.importance", cfg.circuit.importance, ["injection", "patching"])
    if not 0 < cfg.circuit.cap <= 1:
        raise UserError(f"circuit.cap must be in (0, 1], got {cfg.circuit.cap}")
    if not cfg.circuit.alphas or min(cfg.circuit.alphas) <= 0:
        raise UserError(f"circuit.alphas must be positive numbers, got {cfg.circuit.alphas}")
    m = cfg.modulate
    _check_enum("modulate.split", m.split, ["discovery", "test"])
    _check_enum("modulate.neuron_positions", m.neuron_positions, [p.value for p in Positions])
    _check_enum("modulate.head_positions", m.head_positions, [p.value for p in Positions])
    _check_enum("modulate.anchor", m.anchor, ["group", "neutral"])
    for key, table in (("modulate.scales", m.scales), ("modulate.reply_scales", m.reply_scales)):
        for e in table:
            if e not in EMOTIONS:
                raise UserError(f"unknown emotion {e!r} in {key}: choose from {', '.join(EMOTIONS)}")
    _check_data(cfg)
    _check_positive(cfg)
    n_layers = known_layers(cfg.model.name)
    if n_layers is not None:
        validate_layers(cfg, n_layers)
    else:
        _check_pretrained_name(cfg.model.name)


def _check_pretrained_name(name: str) -> None:
    from transformer_lens.loading_from_pretrained import get_official_model_name

    try:
        get_official_model_name(name)
    except ValueError:
        raise UserError(
            f"unknown model {name!r}: use emo-tiny, smollm2-135m-instruct, or a TransformerLens pretrained "
            "name (see transformer_lens.loading_from_pretrained.OFFICIAL_MODEL_NAMES)"
        ) from None


def _check_enum(key: str, value: str, choices: list[str]) -> None:
    if value not in choices:
        raise UserError(f"unknown {key} {value!r}: choose from {', '.join(choices)}")


def _check_data(cfg: Config) -> None:
    from circuits.data.splits import split_paths

    d = cfg.data
    if d.source not in DATA_SOURCES:
        raise UserError(f"unknown data.source {d.source!r}: choose from {', '.join(DATA_SOURCES)}")
    if d.per_theme is not None and d.per_theme < 1:
        raise UserError(f"data.per_theme must be >= 1 or null, got {d.per_theme}")
    for name, path in split_paths(d).items():
        if not Path(path).is_file():
            hint = (
                "the study's files live in ../shared/data/sev (or set CIRCUITS_STUDY_SEV)"
                if d.source == "study"
                else f"set data.{name}=<path to an SEV .jsonl file>"
            )
            raise UserError(f"data file not found for the {name} split: {path} ({hint})")
    for split in cfg.elicit.splits:
        if split not in ("discovery", "test"):
            raise UserError(f"unknown split {split!r} in elicit.splits: choose from discovery, test")


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
