"""The pipeline's stages, by name.

A stage is a module with ``run(ctx) -> result`` and ``load(ctx) -> result`` (its finished result
read back from the run directory), where ``ctx`` is the :class:`~circuits.stages.context.RunContext`;
the summary and the report read the whole run and have no loader: they are rebuilt (in seconds)
whenever they are asked for. It
writes its artifacts at the paths :mod:`circuits.layout` declares (``files``). ``sections`` are
the config sections the stage reads: their values, with the hashes of the stages it requires,
make its config hash, and a rerun in the same run directory reuses a stage whose hash did not
change. No stage module imports another; what several stages share lives on the run context.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from circuits import layout
from circuits.layout import StageFiles
from circuits.vocab import StageName

COMMON = ("model", "data", "emotions", "seed")


@dataclass(frozen=True)
class Stage:
    name: StageName
    module: str
    sections: tuple[str, ...]
    files: StageFiles
    requires: tuple[StageName, ...] = ()
    description: str = ""
    reads_run: bool = False
    """Reads whatever the run directory holds (summary, report): it runs again whenever it is
    asked for, and any other stage running again makes it stale."""

    def _module(self):
        return importlib.import_module(self.module)

    @property
    def run(self) -> Callable[[Any], Any]:
        return self._module().run

    @property
    def load(self) -> Callable[[Any], Any] | None:
        return getattr(self._module(), "load", None)


def _registry(*stages: Stage) -> dict[StageName, Stage]:
    reg: dict[StageName, Stage] = {}
    for s in stages:
        if s.name in reg:
            raise ValueError(f"stage {s.name} registered twice")
        reg[s.name] = s
    missing = set(StageName) - set(reg)
    if missing:
        raise ValueError(f"stages without a registry entry: {sorted(map(str, missing))}")
    return reg


S = StageName
STAGES: dict[StageName, Stage] = _registry(
    Stage(S.SMOKE, "circuits.stages.smoke", COMMON + ("smoke", "decoding"), layout.SMOKE,
          description="load, a few prompts, one forward with a cached read-out, a short generation"),
    Stage(S.TRAIN_EMO_TINY, "circuits.stages.train_emo_tiny", ("train", "seed"), layout.TRAIN,
          description="train the emo-tiny testbed and its judge from scratch, then evaluate them"),
    Stage(S.ELICIT, "circuits.stages.elicit", COMMON + ("decoding", "judge", "elicit"), layout.ELICIT,
          description="emotion-prompted replies, judged: prompting accuracy and complete groups"),
    Stage(S.DIRECTIONS, "circuits.stages.directions", COMMON + ("decoding", "judge", "elicit", "directions"),
          layout.DIRECTIONS, requires=(S.ELICIT,),
          description="emotion directions at every read-out, with consistency evidence"),
    Stage(S.STEER, "circuits.stages.steer", COMMON + ("decoding", "judge", "steering"), layout.STEER,
          requires=(S.DIRECTIONS,), description="the steering baseline on neutral prompts"),
    Stage(S.COMPONENTS, "circuits.stages.components",
          COMMON + ("decoding", "judge", "elicit", "directions", "reference", "components"), layout.COMPONENTS,
          requires=(S.DIRECTIONS,), description="neurons and heads scored per emotion, validated"),
    Stage(S.CIRCUITS, "circuits.stages.circuits",
          COMMON + ("decoding", "judge", "elicit", "directions", "reference", "components", "circuit"),
          layout.CIRCUITS, requires=(S.COMPONENTS,),
          description="sublayer importance, circuit assembly and circuit quality"),
    Stage(S.MODULATE, "circuits.stages.modulate",
          COMMON + ("decoding", "judge", "elicit", "directions", "reference", "components", "circuit", "steering",
                    "modulate"), layout.MODULATE,
          requires=(S.CIRCUITS,), description="controlling emotion from the neutral prompt: five methods, one decoding"),
    Stage(S.COMPARE, "circuits.stages.compare", ("compare",), layout.COMPARE, reads_run=True,
          description="finished runs of several models side by side on relative depth: probes, importance, "
                      "circuit budget, direction cosines, control"),
    Stage(S.SUMMARY, "circuits.stages.summary", ("model",), layout.SUMMARY, reads_run=True,
          description="one markdown summary of every table and figure in the run"),
    Stage(S.REPORT, "circuits.stages.report", ("model",), layout.REPORT, reads_run=True,
          description="one self-contained report.html: figures, tables, interactive views, links to artifacts"),
)
