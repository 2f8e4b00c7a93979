"""The run-directory contract: every artifact each stage writes, by name.

A run directory holds ``config.yaml``, ``manifest.json``, ``metrics.json`` and one folder per
stage. The stages write their artifacts at the paths declared here, and everything that reads a
run (a stage reloading its result, the summary, the report, a notebook) finds them here, so no
path is written twice. :class:`~circuits.artifacts.RunReader` reads them.

Paths may hold fields (``{emotion}``, ``{split}``, ``{template}``). A *table* is written twice,
as ``.md`` and ``.csv``; *tensors* are ``.safetensors`` plus ``.json`` metadata; their declared
path is the stem. Torch-free: importing it costs nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields

from circuits.vocab import StageName

TABLE = (".md", ".csv")
TENSORS = (".safetensors", ".json")


@dataclass(frozen=True)
class Artifact:
    """One artifact: a path relative to the run directory, with ``{field}`` placeholders, and
    the suffixes its files add to it (none for a single file)."""

    pattern: str
    suffixes: tuple[str, ...] = ("",)
    description: str = ""

    def path(self, **values: object) -> str:
        """The path with its fields filled in (the stem of a table or of tensors)."""
        return self.pattern.format(**{k: str(v) for k, v in values.items()})

    def file(self, suffix: str = "", **values: object) -> str:
        """One file of the artifact: ``path + suffix``."""
        if suffix not in self.suffixes:
            raise ValueError(f"{self.pattern} has no {suffix!r} file (it has {self.suffixes})")
        return self.path(**values) + suffix

    def matches(self, rel: str) -> bool:
        """Whether ``rel`` is one of this artifact's files, for any values of its fields."""
        stem = re.escape(self.pattern)
        stem = re.sub(r"\\\{\w+\\\}", r"[^/]+", stem)
        return any(re.fullmatch(stem + re.escape(s), rel) for s in self.suffixes)


@dataclass(frozen=True)
class StageFiles:
    """The artifacts of one stage (subclasses declare them as fields with defaults)."""

    def artifacts(self) -> list[Artifact]:
        return [getattr(self, f.name) for f in fields(self)]

    def declares(self, rel: str) -> bool:
        """Whether ``rel`` (a path in the run directory) is one of this stage's artifacts."""
        return any(a.matches(rel) for a in self.artifacts())


@dataclass(frozen=True)
class SmokeFiles(StageFiles):
    replies: Artifact = Artifact("smoke/replies.jsonl", description="the smoke prompts' short replies")


@dataclass(frozen=True)
class TrainFiles(StageFiles):
    loss_figure: Artifact = Artifact("train_emo_tiny/loss.png")
    losses: Artifact = Artifact("train_emo_tiny/losses.json")
    replies: Artifact = Artifact("train_emo_tiny/replies.jsonl", description="the retrained model's judged replies")
    checkpoint: Artifact = Artifact("train_emo_tiny/checkpoint", description="a directory: weights, config, tokenizer, judge")


@dataclass(frozen=True)
class ElicitFiles(StageFiles):
    replies: Artifact = Artifact("elicit/replies_{split}_{template}.jsonl", description="judged replies (JudgedReply)")
    accuracy: Artifact = Artifact("elicit/accuracy_{split}_{template}", TABLE, "prompting accuracy, emotion x valence")
    groups: Artifact = Artifact("elicit/groups.json", description="the (skeleton, valence) groups the directions use")


@dataclass(frozen=True)
class DirectionsFiles(StageFiles):
    directions: Artifact = Artifact("directions/directions", TENSORS, "EmotionDirections")
    consistency: Artifact = Artifact("directions/consistency.png")
    cross_sublayer: Artifact = Artifact("directions/cross_sublayer.png")
    emotion_cosines: Artifact = Artifact("directions/emotion_cosines.png")
    probes: Artifact = Artifact("directions/probes.png")


@dataclass(frozen=True)
class SteerFiles(StageFiles):
    replies: Artifact = Artifact("steer/replies.jsonl")
    accuracy: Artifact = Artifact("steer/accuracy", TABLE, "steering accuracy, emotion x valence")


@dataclass(frozen=True)
class ComponentsFiles(StageFiles):
    neurons: Artifact = Artifact("components/neurons", TENSORS, "NeuronScores")
    heads: Artifact = Artifact("components/heads", TENSORS, "head scores of ComponentScores")
    neuron_table: Artifact = Artifact("components/neurons_{emotion}.csv")
    head_table: Artifact = Artifact("components/heads_{emotion}.csv")
    validation: Artifact = Artifact("components/validation.json", description="top-k vs random curves")
    heads_heatmap: Artifact = Artifact("components/heads_heatmap.png")
    validation_figure: Artifact = Artifact("components/validation.png")


@dataclass(frozen=True)
class CircuitsFiles(StageFiles):
    vectors: Artifact = Artifact("circuits/vectors", TENSORS, "InterventionVectors")
    circuit: Artifact = Artifact("circuits/circuit_{emotion}.json", description="Circuit")
    importance: Artifact = Artifact("circuits/importance.json")
    importance_figure: Artifact = Artifact("circuits/importance.png")
    allocation: Artifact = Artifact("circuits/allocation.png")
    overlap: Artifact = Artifact("circuits/overlap.png")
    size_curve: Artifact = Artifact("circuits/size_curve.png")
    graph: Artifact = Artifact("circuits/graph_{emotion}", (".png", ".html"))


@dataclass(frozen=True)
class ModulateFiles(StageFiles):
    replies: Artifact = Artifact("modulate/replies.jsonl", description="judged replies of every method (JudgedReply)")
    methods: Artifact = Artifact("modulate/methods", TABLE)
    by_emotion: Artifact = Artifact("modulate/by_emotion", (*TABLE, ".png"))
    by_valence: Artifact = Artifact("modulate/by_valence", TABLE)
    calibration: Artifact = Artifact("modulate/calibration.md")
    sweep_replies: Artifact = Artifact("modulate/sweep_replies.jsonl")
    sweep: Artifact = Artifact("modulate/sweep.md")
    tradeoff: Artifact = Artifact("modulate/accuracy_fluency.png")
    anchored_vectors: Artifact = Artifact("modulate/anchored_vectors", TENSORS, "neutral-anchored InterventionVectors")


@dataclass(frozen=True)
class CompareFiles(StageFiles):
    models: Artifact = Artifact("compare/models", TABLE, "one row per model: depth landmarks, headline control")
    control: Artifact = Artifact("compare/control", TABLE, "every model's control table, model x method")
    depth: Artifact = Artifact("compare/depth.png", description="probes, importance, budget, cosines on relative depth")
    cosines: Artifact = Artifact("compare/cosines.png", description="emotion x emotion direction cosines per model")
    profiles: Artifact = Artifact("compare/profiles.json", description="what was read from each run")


@dataclass(frozen=True)
class SummaryFiles(StageFiles):
    summary: Artifact = Artifact("summary.md")


@dataclass(frozen=True)
class ReportFiles(StageFiles):
    report: Artifact = Artifact("report.html")


SMOKE = SmokeFiles()
TRAIN = TrainFiles()
ELICIT = ElicitFiles()
DIRECTIONS = DirectionsFiles()
STEER = SteerFiles()
COMPONENTS = ComponentsFiles()
CIRCUITS = CircuitsFiles()
MODULATE = ModulateFiles()
COMPARE = CompareFiles()
SUMMARY = SummaryFiles()
REPORT = ReportFiles()

FILES: dict[StageName, StageFiles] = {
    StageName.SMOKE: SMOKE,
    StageName.TRAIN_EMO_TINY: TRAIN,
    StageName.ELICIT: ELICIT,
    StageName.DIRECTIONS: DIRECTIONS,
    StageName.STEER: STEER,
    StageName.COMPONENTS: COMPONENTS,
    StageName.CIRCUITS: CIRCUITS,
    StageName.MODULATE: MODULATE,
    StageName.COMPARE: COMPARE,
    StageName.SUMMARY: SUMMARY,
    StageName.REPORT: REPORT,
}
"""Every stage's artifacts, by stage."""

CONFIG = "config.yaml"
MANIFEST = "manifest.json"
METRICS = "metrics.json"
