"""The label sets of the study: six emotions, a neutral class for judges, three valences."""

from __future__ import annotations

from circuits.errors import UserError

EMOTIONS: tuple[str, ...] = ("anger", "sadness", "happiness", "fear", "surprise", "disgust")
"""The six emotions of the study, in the study's order (the order of every emotion axis)."""

NEUTRAL = "neutral"
"""The judge's label for a reply that expresses none of the six emotions."""

JUDGE_LABELS: tuple[str, ...] = EMOTIONS + (NEUTRAL,)

VALENCES: tuple[str, ...] = ("positive", "neutral", "negative")
"""The three event outcomes of an SEV skeleton."""

ADJECTIVES: dict[str, str] = {
    "anger": "angry",
    "sadness": "sad",
    "happiness": "happy",
    "fear": "afraid",
    "surprise": "surprised",
    "disgust": "disgusted",
}


def check_emotions(emotions: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Validate a user's list of emotions; returns it in the canonical study order."""
    unknown = [e for e in emotions if e not in EMOTIONS]
    if unknown:
        raise UserError(f"unknown emotion {unknown[0]!r}: choose from {', '.join(EMOTIONS)}")
    if len(set(emotions)) != len(emotions):
        raise UserError(f"emotions listed twice in {list(emotions)}: list each emotion once")
    if len(emotions) < 2:
        raise UserError("at least two emotions are needed (directions are contrasts between them)")
    return tuple(e for e in EMOTIONS if e in emotions)
