"""Circuit modulation (the study's stage 5): add ``s * dmu`` to a circuit's neurons and heads.

The study's position policy is the default: neurons at the last position of every forward call
(the last prompt token, then every fed-back generated token under the KV cache), heads at all
positions. Both are :class:`~circuits.interventions.Positions` values and can be changed.

Which ``dmu`` is added in decoding steps is a choice (:class:`Strength`): the study adds the
last-prompt-token contrast everywhere (``reply_vectors=False``); with ``reply_vectors=True`` the
decoding steps get the contrast measured over reply positions
(:func:`circuits.modulation.vectors.reply_contrasts`), each with its own scale. How long the
decoding steps are pushed is a choice too (``reply_steps``): the study pushes every step; an
*onset* push stops after the first few generated tokens and lets the model carry the emotion
on by itself (on emo-tiny the emotion is committed in the opening tokens, and pushing past them
mostly costs fluency). Modulation is additive and happens inside :func:`modulate`, which
restores the model on exit.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

from circuits.circuit.circuit import Circuit
from circuits.interventions import PhasedAddToUnits, intervene
from circuits.model.backend import Backend
from circuits.modulation.vectors import InterventionVectors
from circuits.nodes import by_site
from circuits.sites import HeadsSite
from circuits.vocab import Phase, Positions


@dataclass(frozen=True)
class Strength:
    """How hard to push: ``prompt`` scales the prompt-phase ``dmu``; ``reply`` scales the
    decoding-step ``dmu`` (the reply-phase contrast, or the prompt one when ``reply_vectors``
    is off, in which case the study's single ``s`` is ``Strength(s, s, False)``); ``reply_steps``
    limits the decoding-step push to the first that many generated tokens (None: all)."""

    prompt: float = 1.0
    reply: float = 1.0
    reply_vectors: bool = False
    reply_steps: int | None = None

    @classmethod
    def study(cls, s: float) -> Strength:
        return cls(s, s, False)

    def times(self, k: float) -> Strength:
        return dataclasses.replace(self, prompt=self.prompt * k, reply=self.reply * k)

    def __str__(self) -> str:
        notes = []
        if self.reply_vectors:
            notes.append("reply dmu")
        if self.reply_steps is not None:
            notes.append(f"first {self.reply_steps} steps")
        return f"{self.prompt:g}/{self.reply:g}" + (f" ({', '.join(notes)})" if notes else "")


def modulation_hooks(
    circuit: Circuit,
    vectors: InterventionVectors,
    emotion: str,
    strength: Strength | float,
    neuron_positions: Positions = Positions.LAST,
    head_positions: Positions = Positions.ALL,
) -> list:
    if not isinstance(strength, Strength):
        strength = Strength.study(strength)
    p_neurons, p_heads = vectors.of(emotion, Phase.PROMPT)
    r_neurons, r_heads = vectors.of(emotion, Phase.REPLY) if strength.reply_vectors else (p_neurons, p_heads)
    hooks = []
    for site, idx in by_site(circuit.nodes).items():
        heads = isinstance(site, HeadsSite)
        prompt, reply = (p_heads, r_heads) if heads else (p_neurons, r_neurons)
        hooks.append((site, PhasedAddToUnits(idx, prompt[site.layer, idx], reply[site.layer, idx],
                                             head_positions if heads else neuron_positions,
                                             strength.prompt, strength.reply, strength.reply_steps)))
    return hooks


@contextlib.contextmanager
def modulate(
    model: Backend,
    circuit: Circuit,
    vectors: InterventionVectors,
    emotion: str,
    strength: Strength | float = 1.0,
    neuron_positions: Positions = Positions.LAST,
    head_positions: Positions = Positions.ALL,
) -> Iterator[Backend]:
    """Inside the block, ``circuit``'s components are pushed toward ``emotion``."""
    with intervene(model, modulation_hooks(circuit, vectors, emotion, strength, neuron_positions, head_positions)):
        yield model
