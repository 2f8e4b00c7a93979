"""The ``emo-tiny`` training corpus: chat-format examples built from the project's SEV templates.

One example is ``system instruction + scenario + event -> reply``, rendered with emo-tiny's
chat template. What the model must learn, and so what its circuits must compute:

- with an emotion instruction, a reply that expresses that emotion *and* fits the event's
  outcome (replies are drawn per (emotion, valence) and copy the event's agent and thing);
- with the neutral prompt, a plain acknowledgement of the event. A small share
  (``neutral_emotional_share``) of neutral-prompt replies is emotional, drawn from an
  outcome-dependent prior, as a pretrained model's would be: greedy decoding still gives the
  neutral reply, but an emotional reply is not impossible under the unmodified model, which
  keeps perplexity a fair fluency measure for control methods;
- the instruction comes in many phrasings and synonyms, in the system or the user turn, so
  the emotion cannot be read off one token: it has to be computed.

Examples are sampled from a seeded stream, so a training run is reproducible step by step.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from circuits.data.generator import GeneratedSkeleton
from circuits.data.prompts import (
    STUDY_EMOTION_SYSTEM,
    STUDY_NEUTRAL_SYSTEM,
    USER_EMOTION_SUFFIX,
    USER_NEUTRAL_SUFFIX,
)
from circuits.emotions import ADJECTIVES, EMOTIONS, NEUTRAL, VALENCES
from circuits.testbed.replies import EMOTION_REPLIES, NEUTRAL_REPLIES, render_reply

NOUNS: dict[str, tuple[str, ...]] = {
    "anger": ("anger", "rage", "fury"),
    "sadness": ("sadness", "sorrow", "grief"),
    "happiness": ("happiness", "joy", "delight"),
    "fear": ("fear", "dread", "terror"),
    "surprise": ("surprise", "astonishment", "amazement"),
    "disgust": ("disgust", "revulsion", "repulsion"),
}
ADJS: dict[str, tuple[str, ...]] = {
    "anger": ("angry", "furious", "irritated"),
    "sadness": ("sad", "sorrowful", "heartbroken"),
    "happiness": ("happy", "joyful", "cheerful"),
    "fear": ("afraid", "scared", "frightened"),
    "surprise": ("surprised", "astonished", "amazed"),
    "disgust": ("disgusted", "revolted", "repulsed"),
}
SYSTEM_EMOTION = (
    "Respond with {noun}. Keep it to two sentences at most.",
    "Reply as someone full of {noun}. Use at most two sentences.",
    "Your reply should sound {adj}. Keep the reply to at most two sentences.",
    "Answer in a {adj} tone, in one or two sentences.",
    "Express {noun} in your reply. Keep the reply short.",
    "Be {adj} when you reply. Two sentences at most.",
    "You feel {noun}. Reply in at most two sentences.",
    "Always sound {adj}. Keep the reply to at most two sentences.",
)
USER_EMOTION = (
    "How do you feel? Reply briefly and sound {adj}.",
    "Tell me how this makes you feel, in a {adj} way.",
    "Answer with {noun}, in one or two sentences.",
    "React to this with {noun}. Keep it short.",
)
SYSTEM_NEUTRAL = (
    "Reply briefly.",
    "Answer in one or two sentences.",
    "Keep your answer short and factual.",
    "Use at most two sentences.",
)
USER_NEUTRAL = (
    "What do you say? Keep it short.",
    "Reply in one or two sentences.",
)

# Which emotions a neutral-prompt reply leans to, by outcome (weights, study emotion order).
NEUTRAL_PROMPT_PRIOR: dict[str, tuple[float, ...]] = {
    "positive": (0.5, 0.5, 4.0, 0.5, 3.0, 0.5),
    "neutral": (1.0, 1.0, 1.0, 1.0, 1.0, 1.0),
    "negative": (2.0, 3.0, 0.5, 2.0, 1.0, 2.0),
}


@dataclass(frozen=True)
class Example:
    """One training example (and its labels, for evaluation and the judge)."""

    messages: tuple[tuple[str, str], ...]
    reply: str
    instructed: str
    """The instructed emotion, or ``neutral`` for the neutral prompt."""
    expressed: str
    """The emotion the reply expresses (``neutral`` for a plain acknowledgement)."""
    valence: str
    skeleton_id: str

    def chat(self) -> list[dict[str, str]]:
        return [{"role": r, "content": c} for r, c in self.messages]


def _instruction_messages(rng: random.Random, skel: GeneratedSkeleton, valence: str, emotion: str | None):
    situation = f"{skel.skeleton.scenario}\n{skel.skeleton.event(valence)}"
    user_turn = rng.random() < 0.3
    if emotion is None:
        if user_turn:
            suffix = USER_NEUTRAL_SUFFIX if rng.random() < 0.5 else rng.choice(USER_NEUTRAL)
            return (("user", f"{situation}\n{suffix}"),)
        system = STUDY_NEUTRAL_SYSTEM if rng.random() < 0.5 else rng.choice(SYSTEM_NEUTRAL)
        return (("system", system), ("user", situation))
    noun, adj = rng.choice(NOUNS[emotion]), rng.choice(ADJS[emotion])
    if user_turn:
        if rng.random() < 0.5:
            suffix = USER_EMOTION_SUFFIX.format(adjective=ADJECTIVES[emotion])
        else:
            suffix = rng.choice(USER_EMOTION).format(noun=noun, adj=adj)
        return (("user", f"{situation}\n{suffix}"),)
    if rng.random() < 0.4:
        system = STUDY_EMOTION_SYSTEM.format(emotion=emotion)
    else:
        system = rng.choice(SYSTEM_EMOTION).format(noun=noun, adj=adj)
    return (("system", system), ("user", situation))


def reply_for(rng: random.Random, skel: GeneratedSkeleton, valence: str, label: str) -> str:
    """A random reply expressing ``label`` (an emotion or ``neutral``) about this event."""
    pool = NEUTRAL_REPLIES[valence] if label == NEUTRAL else EMOTION_REPLIES[(label, valence)]
    return render_reply(rng.choice(pool), skel.agent, skel.thing)


def sample_example(
    rng: random.Random, skeletons: Sequence[GeneratedSkeleton], neutral_share: float, neutral_emotional_share: float
) -> Example:
    skel = rng.choice(skeletons)
    valence = rng.choice(VALENCES)
    emotion = None if rng.random() < neutral_share else rng.choice(EMOTIONS)
    if emotion is None:
        expressed = NEUTRAL
        if rng.random() < neutral_emotional_share:
            expressed = rng.choices(EMOTIONS, weights=NEUTRAL_PROMPT_PRIOR[valence])[0]
    else:
        expressed = emotion
    messages = _instruction_messages(rng, skel, valence, emotion)
    reply = reply_for(rng, skel, valence, expressed)
    return Example(messages, reply, emotion or NEUTRAL, expressed, valence, skel.skeleton.skeleton_id)


def example_stream(
    skeletons: Sequence[GeneratedSkeleton],
    seed: int,
    neutral_share: float = 0.25,
    neutral_emotional_share: float = 0.1,
) -> Iterator[Example]:
    """An endless, seeded stream of training examples."""
    rng = random.Random(seed)
    while True:
        yield sample_example(rng, skeletons, neutral_share, neutral_emotional_share)
