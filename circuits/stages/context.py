"""The run context: what a stage can ask for, loaded lazily and at most once per run.

A stage receives one :class:`RunContext` and asks it for the configuration, the run directory,
the model and the judge, the data splits and the prompts rendered for the model, the decoding
settings every comparison shares, and the results of other stages (typed accessors such as
:attr:`RunContext.directions`; a finished stage's result is reloaded from the run directory when
its configuration did not change, else computed now). Everything several stages need lives
here, so no stage imports another.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import asdict
from functools import cached_property
from typing import TYPE_CHECKING, Any

from circuits.artifacts import RunDir
from circuits.config import Config
from circuits.data.prompts import Prompt, build_prompts
from circuits.data.sev import SEVSplit
from circuits.generation import Decoding
from circuits.vocab import Split, StageName

if TYPE_CHECKING:
    from circuits.attribution.components import ComponentScores
    from circuits.directions.emotion_directions import EmotionDirections
    from circuits.directions.reference import Reference
    from circuits.evaluation.judges import Judge
    from circuits.model.backend import Backend
    from circuits.modulation.vectors import InterventionVectors
    from circuits.stages.results import CircuitSet, Elicitation

log = logging.getLogger(__name__)


def config_hash(cfg: Config, name: StageName) -> str:
    """The hash of the config sections stage ``name`` reads and of the stages it requires (what
    the manifest records when the stage finishes, and what reuse compares)."""
    from circuits.stages import STAGES

    stage = STAGES[name]
    plain = asdict(cfg)  # enums hash as their values (str)
    payload = {s: plain[s] for s in stage.sections}
    payload["requires"] = {str(r): config_hash(cfg, r) for r in stage.requires}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


class RunContext:
    """Shared state of one run. Stages receive it and ask it for their inputs."""

    def __init__(self, cfg: Config, run: RunDir) -> None:
        self.cfg = cfg
        self.run = run
        self._results: dict[StageName, Any] = {}
        self._ran: set[StageName] = set()
        """Stages computed (not reloaded) in this run: what requires them is computed again too."""
        self._splits: dict[tuple[Split, int | None], SEVSplit] = {}

    # --- resources ----------------------------------------------------------------------------
    @cached_property
    def device(self) -> str:
        import torch

        d = self.cfg.model.device
        if d == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        return d

    @cached_property
    def model(self) -> Backend:
        from circuits.model.loading import load_model
        from circuits.validate import validate_layers

        log.info("loading model %s", self.cfg.model.path or self.cfg.model.name)
        m = self.cfg.model
        model = load_model(m.name, device=self.device, dtype=m.dtype, trust_remote_code=m.trust_remote_code,
                           n_devices=m.n_devices, backend=m.backend, path=m.path)
        validate_layers(self.cfg, model.info.n_layers)
        source = getattr(model, "source", None)
        if source:
            self.run.set_run_info(model_source=source)
        return model

    @cached_property
    def judge(self) -> Judge:
        from circuits.evaluation.judges import make_judge

        j = self.cfg.judge
        return make_judge(j.kind, hf_model=j.hf_model, llm_model=j.llm_model, device=self.device)

    @property
    def emotions(self) -> tuple[str, ...]:
        from circuits.emotions import check_emotions

        return check_emotions(self.cfg.emotions)

    @cached_property
    def decoding(self) -> Decoding:
        """The one decoding configuration every method of a comparison shares."""
        d = self.cfg.decoding
        return Decoding(max_new_tokens=d.max_new_tokens, batch_size=d.batch_size, greedy=d.greedy,
                        temperature=d.temperature, top_p=d.top_p, seed=self.cfg.seed)

    # --- data and prompts ---------------------------------------------------------------------
    def split(self, name: Split) -> SEVSplit:
        """Split ``name`` as the run's discovery work sees it: ``data.per_theme`` skeletons per
        theme, capped by the model's CPU budget."""
        return self.split_of(name, self.cfg.data.per_theme)

    def split_of(self, name: Split, per_theme: int | None) -> SEVSplit:
        """``per_theme`` skeletons per theme of the *whole* split ``name`` (None: all of it),
        capped by the model's CPU budget; the same stratified draw as :meth:`split`'s."""
        from circuits.data.splits import effective_per_theme, load_split, split_paths

        n = effective_per_theme(per_theme, self.cfg.model.cpu_per_theme, self.device != "cpu")
        if (name, n) not in self._splits:
            d = self.cfg.data
            self._splits[name, n] = load_split(split_paths(d.source, d.discovery, d.test), name, n, d.subset_seed)
        return self._splits[name, n]

    def prompts(self, split: SEVSplit, emotions: Sequence[str | None], template=None) -> list[Prompt]:
        """Prompts of ``split`` for ``emotions`` (None: the neutral prompt), rendered by the
        model's chat template with the run's prompt template (or ``template``)."""
        return build_prompts(self.model.render_chat, split, emotions, template or self.cfg.model.template)

    def neutral_prompts(self, split: SEVSplit) -> list[Prompt]:
        """The neutral prompt of every (skeleton, valence) of ``split``."""
        return self.prompts(split, [None])

    def discovery_prompts(self, groups: Sequence[tuple[str, str]] | None = None) -> list[Prompt]:
        """Emotion prompts of the discovery split, restricted to ``groups`` (None: all)."""
        prompts = self.prompts(self.split(Split.DISCOVERY), self.emotions)
        if groups is None:
            return prompts
        keep = set(groups)
        return [p for p in prompts if p.group in keep]

    # --- analysis the stages share ------------------------------------------------------------
    @cached_property
    def reference(self) -> Reference:
        """The emotions' reference directions (``reference.*``) from the run's directions."""
        from circuits.directions.reference import reference_directions

        r = self.cfg.reference
        return reference_directions(self.directions, r.segment, r.threshold)

    @cached_property
    def steering_layers(self) -> list[int]:
        """``steering.layers``, or the study's range scaled to the model's depth."""
        from circuits.modulation.steering import default_layers

        layers = self.cfg.steering.layers
        return list(layers) if layers else default_layers(self.model.info.n_layers)

    @cached_property
    def anchored_vectors(self) -> InterventionVectors:
        """The circuits' vectors with neutral-anchored prompt-phase ``dmu``, read from the
        discovery groups the circuits stage used (saved beside the control stage's replies)."""
        from circuits import layout
        from circuits.modulation.vectors import neutral_anchored

        emotional = self.discovery_prompts(self.elicitation.groups)
        neutral = self.neutral_prompts(self.split(Split.DISCOVERY))
        neurons, heads, n = neutral_anchored(self.model, emotional, neutral, self.emotions, self.cfg.decoding.batch_size)
        vectors = self.circuits.vectors.with_prompt(neurons, heads, n)
        self.run.save(layout.MODULATE.anchored_vectors, vectors)
        log.info("neutral-anchored prompt-phase vectors from %d groups", n)
        return vectors

    # --- other stages' results ----------------------------------------------------------------
    @property
    def elicitation(self) -> Elicitation:
        return self.result(StageName.ELICIT)

    @property
    def directions(self) -> EmotionDirections:
        return self.result(StageName.DIRECTIONS)

    @property
    def components(self) -> ComponentScores:
        return self.result(StageName.COMPONENTS)

    @property
    def circuits(self) -> CircuitSet:
        return self.result(StageName.CIRCUITS)

    def stage_hash(self, name: StageName) -> str:
        """The hash of the config sections stage ``name`` reads and of the stages it requires."""
        return config_hash(self.cfg, name)

    def result(self, name: StageName) -> Any:
        """The result of stage ``name``: computed in this run, reloaded, or computed now.

        A finished stage is reloaded when its configuration hash is unchanged, every artifact it
        wrote still has the sha256 the manifest recorded, and every stage it requires is reused
        too; otherwise it runs, and the stages downstream of it stop counting as done."""
        from circuits.stages import STAGES

        if name in self._results:
            return self._results[name]
        stage = STAGES[name]
        if self._reusable(name):
            log.info("stage %s: reusing the results in %s", name, self.run.root)
            self._results[name] = stage.load(self)
            return self._results[name]
        for dep in stage.requires:
            self.result(dep)
        self.run.mark_stale(self.downstream(name), f"{name} runs again")
        log.info("stage %s: %s", name, stage.description)
        with self.run.stage(name, self.stage_hash(name)):
            self._results[name] = stage.run(self)
        self._ran.add(name)
        return self._results[name]

    def _reusable(self, name: StageName) -> bool:
        from circuits.stages import STAGES

        stage = STAGES[name]
        return (stage.load is not None and name not in self._ran
                and all(dep not in self._ran and (dep in self._results or self._reusable(dep)) for dep in stage.requires)
                and self.run.stage_done(name, self.stage_hash(name)))

    @staticmethod
    def downstream(name: StageName) -> list[StageName]:
        """The stages that read what ``name`` makes: those requiring it (transitively) and the
        stages that read the whole run (the summary and the report)."""
        from circuits.stages import STAGES

        reader = STAGES[name].reads_run
        out: list[StageName] = []
        for other, stage in STAGES.items():
            if other != name and ((stage.reads_run and not reader) or any(r == name or r in out for r in stage.requires)):
                out.append(other)
        return out

    def mark_outdated(self) -> None:
        """Stages the manifest calls done under another configuration than this run's become
        stale, so that every stage marked done holds under the run's ``config.yaml``."""
        from circuits.stages import STAGES

        outdated = [n for n in STAGES if self.run.done(n) and self.run.stage_entry(n).get("config_hash") != self.stage_hash(n)]
        if outdated:
            outdated += [n for n, stage in STAGES.items() if stage.reads_run and n not in outdated]
        self.run.mark_stale(outdated, "the configuration changed")

    def existing(self, name: StageName) -> Any | None:
        """The result of stage ``name`` if this run computed it or the run directory holds it
        finished (under any configuration), without running anything; else None. For readers
        of whatever a run has, such as the report."""
        from circuits.stages import STAGES

        if name in self._results:
            return self._results[name]
        stage = STAGES[name]
        if stage.load is None or not self.run.done(name):
            return None
        self._results[name] = stage.load(self)
        return self._results[name]

