"""The reference direction (the study's stage 4): where the model's emotion representation has
settled, as one vector per emotion.

The study takes the unit mean of the sign-aligned attention and MLP directions of a late
"stable" segment (layers 21-25 of 28) chosen by hand. Here the segment is derived from the data
by default: the longest run of consecutive read-outs whose adjacent cosines (mean over emotions)
stay above a threshold, preferring later runs, restricted to the second half of the network.
It can also be given explicitly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor

from circuits.directions.aggregators import unit
from circuits.directions.emotion_directions import EmotionDirections
from circuits.sites import ResidSite


@dataclass(frozen=True)
class Reference:
    """Per-emotion reference vectors and the read-out segment they come from."""

    vectors: Float[Tensor, "emotion d_model"]
    start: int
    """First read-out index of the segment (depth order L0.attn=0, L0.mlp=1, ...)."""
    end: int
    """Last read-out index (inclusive)."""
    derived: bool

    def vector(self, directions: EmotionDirections, emotion: str) -> Tensor:
        return self.vectors[directions.emotions.index(emotion)]

    def describe(self) -> str:
        """The segment as read-outs, e.g. ``L2.mlp..L3.mlp``."""
        return f"{ResidSite.at(self.start)}..{ResidSite.at(self.end)}"


def stable_segment(directions: EmotionDirections, threshold: float = 0.9) -> tuple[int, int]:
    """The longest run of read-outs with adjacent cosine >= threshold in the second half (ties:
    the later run); falls back to the last quarter of the read-outs."""
    v = directions.vectors
    S = v.shape[1]
    adj = (v[:, :-1] * v[:, 1:]).sum(-1).mean(0)  # [S-1]
    lo = S // 2
    best: tuple[int, int] | None = None
    start = lo
    for i in range(lo, S):
        if i == S - 1 or adj[i] < threshold:
            if best is None or (i - start) >= (best[1] - best[0]):
                best = (start, i)
            start = i + 1
    if best is None or best[1] - best[0] < 1:
        return max(0, S - max(2, S // 4)), S - 1
    return best


def reference_directions(
    directions: EmotionDirections, segment: Sequence[int] | None = None, threshold: float = 0.9
) -> Reference:
    """Unit mean of the sign-aligned directions over the segment, per emotion.

    ``segment`` is ``[first_layer, last_layer]`` (both read-outs of each layer), or None to
    derive it with :func:`stable_segment`.
    """
    if segment is not None:
        start, end = 2 * segment[0], 2 * segment[1] + 1
        derived = False
    else:
        start, end = stable_segment(directions, threshold)
        derived = True
    v = directions.vectors[:, start : end + 1]  # [emotion seg d]
    anchor = v[:, -1:]
    sign = torch.sign((v * anchor).sum(-1, keepdim=True))
    sign[sign == 0] = 1
    return Reference(unit((v * sign).mean(dim=1)), start, end, derived)
