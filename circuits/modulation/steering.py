"""The steering baseline (the study's stage 2): add ``alpha * RMS(h) * v_e^(L)`` to the residual.

At every layer ``L`` of the configured range, the emotion's direction at that layer's read-out
(after the MLP by default) is added to the residual stream, scaled by ``alpha`` and by the RMS
norm of the residual at each edited position. The study uses layers 11-20 of 28, alpha 8, at
the last prompt token and at every generated token (:attr:`Positions.LAST` under the KV cache).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

from circuits.directions.emotion_directions import EmotionDirections
from circuits.interventions import AddVector, intervene
from circuits.model.backend import Backend
from circuits.sites import ReadOut, ResidSite
from circuits.vocab import Positions

STUDY_LAYER_FRACTION = (11 / 28, 20 / 28)


def default_layers(n_layers: int, fraction: Sequence[float] = STUDY_LAYER_FRACTION) -> list[int]:
    """The study's layer range (11-20 of 28) scaled to a model's depth; at least one layer."""
    lo, hi = fraction
    layers = [layer for layer in range(n_layers) if lo - 1e-9 <= layer / n_layers <= hi + 1e-9]
    return layers or [round((lo + hi) / 2 * (n_layers - 1))]


def steering_hooks(
    directions: EmotionDirections,
    emotion: str,
    layers: Sequence[int],
    alpha: float,
    positions: Positions = Positions.LAST,
    readout: ReadOut = ReadOut.RESID_POST,
) -> list[tuple[ResidSite, AddVector]]:
    hooks = []
    for layer in layers:
        site = ResidSite(layer, readout)
        hooks.append((site, AddVector(directions.vector(emotion, site), positions, alpha, rms_scaled=True)))
    return hooks


@contextlib.contextmanager
def steer(
    model: Backend,
    directions: EmotionDirections,
    emotion: str,
    layers: Sequence[int],
    alpha: float,
    positions: Positions = Positions.LAST,
    readout: ReadOut = ReadOut.RESID_POST,
) -> Iterator[Backend]:
    """Steer ``model`` toward ``emotion`` inside the block; the model is restored afterwards."""
    with intervene(model, steering_hooks(directions, emotion, layers, alpha, positions, readout)):
        yield model
