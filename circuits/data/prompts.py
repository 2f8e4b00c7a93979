"""Prompt builders: the emotion prompt and the neutral prompt, rendered by a chat template.

The study puts the emotion instruction in the system turn::

    system: "Always reply in {emotion}. Keep the reply to at most two sentences."
    user:   "{scenario}\\n{event}"

and the neutral prompt is the same without the emotion sentence. Small chat models follow
instructions in the user turn better, so a user-turn variant is offered too. Prompts are
ordered skeleton x valence x emotion; the read-out position is the last prompt token.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from circuits.data.sev import SEVSplit, Skeleton
from circuits.emotions import ADJECTIVES, VALENCES
from circuits.vocab import Template

STUDY_EMOTION_SYSTEM = "Always reply in {emotion}. Keep the reply to at most two sentences."
STUDY_NEUTRAL_SYSTEM = "Keep the reply to at most two sentences."
USER_EMOTION_SUFFIX = "How do you feel? Answer in at most two sentences, sounding {adjective}."
USER_NEUTRAL_SUFFIX = "Answer in at most two sentences."


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


Render = Callable[[Sequence[dict[str, str]]], str]
"""Chat messages -> prompt text: a model's ``render_chat``."""


def build_prompts(
    render: Render,
    split: SEVSplit,
    emotions: Sequence[str | None],
    template: Template,
    valences: Sequence[str] = VALENCES,
) -> list[Prompt]:
    """Prompts for every skeleton x valence x emotion (``None`` in ``emotions``: neutral prompt).

    ``render`` turns chat messages into text: a model's :meth:`Backend.render_chat`.
    """
    prompts = []
    for skel in split:
        for valence in valences:
            for emotion in emotions:
                text = render(messages_for(skel, valence, emotion, template))
                prompts.append(Prompt(skel.skeleton_id, skel.theme, valence, emotion, text))
    return prompts


def per_emotion(prompts: Sequence[Prompt], emotions: Sequence[str], limit: int | None) -> list[Prompt]:
    """At most ``limit`` prompts of each emotion (None: all), evenly spaced over each emotion's
    prompts, emotion after emotion."""
    out = []
    for e in emotions:
        mine = [p for p in prompts if p.emotion == e]
        if limit is not None and len(mine) > limit:
            step = len(mine) / limit
            mine = [mine[int(i * step)] for i in range(limit)]
        out += mine
    return out


def stratified_order(prompts: Sequence[Prompt], seed: int = 0) -> list[int]:
    """An order of ``prompts`` whose every prefix is spread over the themes: each theme's prompts
    shuffled (seeded), then taken one theme at a time in turn. What an adaptive search that looks
    at the first few prompts first needs."""
    import random

    rng = random.Random(seed)
    by_theme: dict[str, list[int]] = {}
    for i, p in enumerate(prompts):
        by_theme.setdefault(p.theme, []).append(i)
    queues = []
    for theme in sorted(by_theme):
        idx = by_theme[theme][:]
        rng.shuffle(idx)
        queues.append(idx)
    order = []
    for k in range(max(map(len, queues), default=0)):
        order += [q[k] for q in queues if k < len(q)]
    return order
