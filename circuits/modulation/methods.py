"""The control methods compared from the neutral prompt, as a registry of small classes.

Each method says which prompt it answers (the neutral prompt, or the emotion prompt for
prompting), whether it takes a strength, and how it changes the model while a reply is generated:
the hooks it attaches (:meth:`ControlMethod.hooks`, so that one batch can carry several methods
and settings, :func:`circuits.generation.generate_jobs`), or the same as a context manager that
restores the model on exit (:meth:`ControlMethod.context`):

- ``none``: the neutral prompt, unmodified (the floor);
- ``prompting``: the emotion prompt (the study's prompting baseline);
- ``steering``: the emotion's residual direction added (:mod:`circuits.modulation.steering`);
- ``circuit``: the emotion's circuit modulated with the framework's vectors (reply-phase ``dmu``,
  onset push, group-centred or neutral-anchored prompt-phase ``dmu``:
  :mod:`circuits.modulation.circuit_modulation`);
- ``circuit_study``: the same circuit modulated exactly as the study does;
- ``random``: ``circuit``'s modulation on random circuits with the same layer profile, disjoint
  from the circuit (several draws, their replies pooled), at ``circuit``'s strength.

A new method is one class with :func:`register`; the registry refuses a name twice.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, ClassVar

from circuits.circuit.circuit import Circuit
from circuits.directions.emotion_directions import EmotionDirections
from circuits.interventions import intervene
from circuits.model.backend import Backend, HookFn
from circuits.modulation.circuit_modulation import modulation_hooks
from circuits.modulation.steering import steering_hooks
from circuits.modulation.vectors import InterventionVectors
from circuits.sites import ReadOut, Site
from circuits.vocab import Method, Positions


@dataclass(frozen=True, eq=False)
class Controls:
    """What the control methods act with."""

    directions: EmotionDirections
    circuits: Mapping[str, Circuit]
    """One circuit per emotion."""
    study_vectors: InterventionVectors
    """The study's group-centred ``dmu`` (``circuit_study``)."""
    vectors: InterventionVectors
    """``circuit``'s and ``random``'s ``dmu`` (group-centred or neutral-anchored prompt phase)."""
    random_circuits: Sequence[Mapping[str, Circuit]]
    """Disjoint random control circuits, one mapping (emotion -> circuit) per draw."""
    steering_layers: Sequence[int]
    steering_positions: Positions = Positions.LAST
    steering_readout: ReadOut = ReadOut.RESID_POST
    neuron_positions: Positions = Positions.LAST
    head_positions: Positions = Positions.ALL


class ControlMethod(ABC):
    """One way of making a reply express an emotion."""

    method: ClassVar[Method]
    emotion_prompt: ClassVar[bool] = False
    """Answers the emotion prompt (else the neutral prompt)."""
    takes_strength: ClassVar[bool] = True
    borrows: ClassVar[Method | None] = None
    """Applied at the strength chosen for that method (else its own)."""

    def __init__(self, controls: Controls) -> None:
        self.controls = controls

    @property
    def draws(self) -> int | None:
        """Random draws whose replies are pooled (None: the method is not drawn)."""
        return None

    @abstractmethod
    def hooks(self, emotion: str, strength: Any = None, draw: int = 0) -> list[tuple[Site, HookFn]]:
        """The hooks that make a reply go the method's way toward ``emotion`` (none: the model as it is)."""

    def context(self, model: Backend, emotion: str, strength: Any = None, draw: int = 0) -> AbstractContextManager:
        """Inside the block, ``model`` replies the method's way toward ``emotion``."""
        return intervene(model, self.hooks(emotion, strength, draw))


METHODS: dict[Method, type[ControlMethod]] = {}
"""Every registered control method, by name."""


def register(cls: type[ControlMethod]) -> type[ControlMethod]:
    if cls.method in METHODS:
        raise ValueError(f"control method {cls.method} is registered twice ({METHODS[cls.method].__name__}, {cls.__name__})")
    METHODS[cls.method] = cls
    return cls


def control_methods(controls: Controls, methods: Sequence[Method] = tuple(Method)) -> dict[Method, ControlMethod]:
    """Instances of ``methods`` acting with ``controls``, in the order given."""
    return {m: METHODS[m](controls) for m in methods}


@register
class NoIntervention(ControlMethod):
    method = Method.NONE
    takes_strength = False

    def hooks(self, emotion, strength=None, draw=0):
        return []


@register
class Prompting(ControlMethod):
    method = Method.PROMPTING
    emotion_prompt = True
    takes_strength = False

    def hooks(self, emotion, strength=None, draw=0):
        return []


@register
class Steering(ControlMethod):
    method = Method.STEERING

    def hooks(self, emotion, strength, draw=0):
        c = self.controls
        return steering_hooks(c.directions, emotion, c.steering_layers, strength, c.steering_positions,
                              c.steering_readout)


@register
class CircuitModulation(ControlMethod):
    method = Method.CIRCUIT

    def circuit(self, emotion: str, draw: int) -> Circuit:
        return self.controls.circuits[emotion]

    def vectors(self) -> InterventionVectors:
        return self.controls.vectors

    def hooks(self, emotion, strength, draw=0):
        c = self.controls
        return modulation_hooks(self.circuit(emotion, draw), self.vectors(), emotion, strength, c.neuron_positions,
                                c.head_positions)


@register
class StudyCircuitModulation(CircuitModulation):
    method = Method.CIRCUIT_STUDY

    def vectors(self) -> InterventionVectors:
        return self.controls.study_vectors


@register
class RandomCircuits(CircuitModulation):
    method = Method.RANDOM
    borrows = Method.CIRCUIT

    @property
    def draws(self) -> int:
        return len(self.controls.random_circuits)

    def circuit(self, emotion: str, draw: int) -> Circuit:
        return self.controls.random_circuits[draw][emotion]
