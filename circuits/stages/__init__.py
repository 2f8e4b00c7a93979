"""The pipeline's stages, by name.

A stage is a plain function ``run(ctx) -> result`` in its own module, where ``ctx`` is the
:class:`~circuits.pipeline.RunContext`. A stage may also define ``load(ctx) -> result`` to read
its result back from the run directory, so that a later stage (or a rerun) reuses it when the
manifest says it is done with the same configuration. ``sections`` are the config sections the
stage reads: their values, with the hashes of the stages it requires, make its config hash.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

COMMON = ("model", "data", "emotions", "seed")


@dataclass(frozen=True)
class Stage:
    name: str
    module: str
    sections: tuple[str, ...]
    requires: tuple[str, ...] = ()
    description: str = ""

    def _module(self):
        return importlib.import_module(self.module)

    @property
    def run(self) -> Callable[[Any], Any]:
        return self._module().run

    @property
    def load(self) -> Callable[[Any], Any] | None:
        return getattr(self._module(), "load", None)


def _registry(*stages: Stage) -> dict[str, Stage]:
    reg: dict[str, Stage] = {}
    for s in stages:
        if s.name in reg:
            raise ValueError(f"stage {s.name!r} registered twice")
        reg[s.name] = s
    return reg


STAGES: dict[str, Stage] = _registry(
    Stage("smoke", "circuits.stages.smoke", COMMON + ("smoke", "decoding"),
          description="load, a few prompts, one forward with a cached read-out, a short generation"),
    Stage("train_emo_tiny", "circuits.stages.train_emo_tiny", ("train", "seed"),
          description="train the emo-tiny testbed and its judge from scratch, then evaluate them"),
    Stage("elicit", "circuits.stages.elicit", COMMON + ("decoding", "judge", "elicit"),
          description="emotion-prompted replies, judged: prompting accuracy and complete groups"),
    Stage("directions", "circuits.stages.directions", COMMON + ("decoding", "judge", "elicit", "directions"),
          requires=("elicit",), description="emotion directions at every read-out, with consistency evidence"),
    Stage("steer", "circuits.stages.steer", COMMON + ("decoding", "judge", "steering"), requires=("directions",),
          description="the steering baseline on neutral prompts"),
    Stage("components", "circuits.stages.components",
          COMMON + ("decoding", "judge", "elicit", "directions", "reference", "components"),
          requires=("directions",), description="neurons and heads scored per emotion, validated"),
    Stage("circuits", "circuits.stages.circuits",
          COMMON + ("decoding", "judge", "elicit", "directions", "reference", "components", "circuit"),
          requires=("components",), description="sublayer importance, circuit assembly and circuit quality"),
    Stage("modulate", "circuits.stages.modulate",
          COMMON + ("decoding", "judge", "elicit", "directions", "reference", "components", "circuit", "steering",
                    "modulate"),
          requires=("circuits",), description="controlling emotion from the neutral prompt: five methods, one decoding"),
    Stage("summary", "circuits.stages.summary", ("model",),
          description="one markdown summary of every table and figure in the run"),
    Stage("report", "circuits.stages.report", ("model",),
          description="one self-contained report.html: figures, tables, interactive views, links to artifacts"),
)
