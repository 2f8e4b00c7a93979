"""Prompt builders: the emotion prompt and the neutral prompt, rendered by a chat template.

The study puts the emotion instruction in the system turn::

    system: "Always reply in {emotion}. Keep the reply to at most two sentences."
    user:   "{scenario}\\n{event}"

and the neutral prompt is the same without the emotion sentence. Small chat models follow
instructions in the user turn better, so a user-turn variant is offered too. Prompts are
ordered skeleton x valence x emotion; the read-out position is the last prompt token.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from circuits.data.sev import SEVSplit, Skeleton
from circuits.emotions import ADJECTIVES, VALENCES

STUDY_EMOTION_SYSTEM = "Always reply in {emotion}. Keep the reply to at most two sentences."
STUDY_NEUTRAL_SYSTEM = "Keep the reply to at most two sentences."
USER_EMOTION_SUFFIX = "How do you feel? Answer in at most two sentences, sounding {adjective}."
USER_NEUTRAL_SUFFIX = "Answer in at most two sentences."


class Template(enum.Enum):
    """Where the emotion instruction goes."""

    SYSTEM = "system"
    """The study's template: the instruction is the system turn."""
    USER = "user"
    """The instruction follows the scenario and event in the user turn (no system turn, so a
    model's own default system prompt, if its template has one, applies)."""


def messages_for(
    skeleton: Skeleton, valence: str, emotion: str | None, template: Template
) -> list[dict[str, str]]:
    """Chat messages of one prompt; ``emotion=None`` gives the neutral prompt."""
    situation = f"{skeleton.scenario}\n{skeleton.event(valence)}"
    if template is Template.SYSTEM:
        system = STUDY_NEUTRAL_SYSTEM if emotion is None else STUDY_EMOTION_SYSTEM.format(emotion=emotion)
        return [{"role": "system", "content": system}, {"role": "user", "content": situation}]
    suffix = (
        USER_NEUTRAL_SUFFIX if emotion is None else USER_EMOTION_SUFFIX.format(adjective=ADJECTIVES[emotion])
    )
    return [{"role": "user", "content": f"{situation}\n{suffix}"}]


@dataclass(frozen=True)
class Prompt:
    """One rendered prompt and the labels it was built from."""

    skeleton_id: str
    theme: str
    valence: str
    emotion: str | None
    """The instructed emotion; None for the neutral prompt."""
    text: str
    """The chat-template rendering, generation prompt included."""

    @property
    def group(self) -> tuple[str, str]:
        """The (skeleton, valence) group: six emotion prompts share the same situation."""
        return (self.skeleton_id, self.valence)


def build_prompts(
    render,
    split: SEVSplit,
    emotions: Sequence[str | None],
    template: Template,
    valences: Sequence[str] = VALENCES,
) -> list[Prompt]:
    """Prompts for every skeleton x valence x emotion (``None`` in ``emotions``: neutral prompt).

    ``render`` turns chat messages into text: a model's :meth:`HookedModel.render_chat`.
    """
    prompts = []
    for skel in split:
        for valence in valences:
            for emotion in emotions:
                text = render(messages_for(skel, valence, emotion, template))
                prompts.append(Prompt(skel.skeleton_id, skel.theme, valence, emotion, text))
    return prompts
