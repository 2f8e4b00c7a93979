"""The run context: what a stage can ask for (config, run directory, model, judge, data,
results of other stages), loaded lazily and at most once per run."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict
from functools import cached_property
from typing import Any

from circuits.artifacts import RunDir
from circuits.config import Config
from circuits.data.sev import SEVSplit
from circuits.errors import UserError

log = logging.getLogger(__name__)


class RunContext:
    """Shared state of one run. Stages receive it and call :meth:`result` for their inputs."""

    def __init__(self, cfg: Config, run: RunDir) -> None:
        self.cfg = cfg
        self.run = run
        self._results: dict[str, Any] = {}
        self._splits: dict[tuple[str, int | None], SEVSplit] = {}
        self.cache: dict[str, Any] = {}
        """Values a stage derives once and uses in several places (e.g. the modulate stage's
        neutral-anchored vectors, read once for calibration, headline and sweep)."""

    @cached_property
    def device(self) -> str:
        import torch

        d = self.cfg.model.device
        if d == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        return d

    @cached_property
    def model(self):
        from circuits.model.loading import load_model
        from circuits.validate import validate_layers

        log.info("loading model %s", self.cfg.model.name)
        model = load_model(self.cfg.model.name, device=self.device, dtype=self.cfg.model.dtype)
        validate_layers(self.cfg, model.info.n_layers)
        return model

    @cached_property
    def judge(self):
        from circuits.evaluation.judges import make_judge

        return make_judge(self.cfg.judge.kind)

    def split(self, name: str) -> SEVSplit:
        """Split ``name`` as the run's discovery work sees it: ``data.per_theme`` skeletons per
        theme, capped by the model's CPU budget."""
        return self.split_of(name, self.cfg.data.per_theme)

    def split_of(self, name: str, per_theme: int | None) -> SEVSplit:
        """``per_theme`` skeletons per theme of the *whole* split ``name`` (None: all of it),
        capped by the model's CPU budget; the same stratified draw as :meth:`split`'s."""
        from circuits.data.splits import effective_per_theme, load_split

        n = effective_per_theme(per_theme, self.cfg.model.cpu_per_theme, self.device != "cpu")
        if (name, n) not in self._splits:
            self._splits[name, n] = load_split(self.cfg.data, name, n)
        return self._splits[name, n]

    @property
    def emotions(self) -> tuple[str, ...]:
        from circuits.emotions import check_emotions

        return check_emotions(self.cfg.emotions)

    # --- stages -------------------------------------------------------------------------------
    def stage_hash(self, name: str) -> str:
        from circuits.stages import STAGES

        stage = STAGES[name]
        cfg = asdict(self.cfg)
        payload = {s: cfg[s] for s in stage.sections}
        payload["requires"] = {r: self.stage_hash(r) for r in stage.requires}
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def result(self, name: str) -> Any:
        """The result of stage ``name``: computed in this run, reloaded, or computed now."""
        from circuits.stages import STAGES

        if name in self._results:
            return self._results[name]
        stage = STAGES[name]
        h = self.stage_hash(name)
        if stage.load is not None and self.run.stage_done(name, h):
            log.info("stage %s: reusing the results in %s", name, self.run.root)
            self._results[name] = stage.load(self)
            return self._results[name]
        for dep in stage.requires:
            self.result(dep)
        log.info("stage %s: %s", name, stage.description)
        with self.run.stage(name, h):
            self._results[name] = stage.run(self)
        return self._results[name]


def require(condition: bool, message: str) -> None:
    if not condition:
        raise UserError(message)
