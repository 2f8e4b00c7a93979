"""MLP neurons, scored analytically against the emotion direction (the study's stage 3).

At the last prompt token, neuron ``j`` of layer ``l`` writes ``a_j * W_out[j]`` into the
residual stream, so its contribution to the projection on the layer's post-MLP direction ``v``
is ``c_j = a_j * (W_out v)_j`` with ``a`` the hidden activation (``mlp.hook_post``, after the
nonlinearity or the gate, so gated MLPs work too). By construction
``sum_j c_j + <b_out, v> = <mlp_out, v>`` (a test checks this identity). A neuron's score for
an emotion is the mean of ``c_j`` over that emotion's prompts; rank by signed score.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from jaxtyping import Float
from torch import Tensor

from circuits.activations import read_last_token
from circuits.artifacts import atomic_write_bytes, dumps_json
from circuits.data.prompts import Prompt
from circuits.directions.emotion_directions import EmotionDirections
from circuits.model.backend import Backend
from circuits.nodes import NeuronNode, top_nodes
from circuits.sites import NeuronsSite, ReadOut, ResidSite


@dataclass(frozen=True, eq=False)
class NeuronScores:
    """Per emotion x layer x neuron: the score, the mean activation, and ``W_out v``."""

    scores: Float[Tensor, "emotion layer d_mlp"]
    mean_activation: Float[Tensor, "emotion layer d_mlp"]
    w_out_v: Float[Tensor, "emotion layer d_mlp"]
    emotions: tuple[str, ...]

    def top(self, emotion: str, k: int, layers: Sequence[int] | None = None) -> list[tuple[NeuronNode, float]]:
        """The ``k`` highest-scoring neurons of an emotion with their scores, optionally within layers."""
        return top_nodes(self.scores[self.emotions.index(emotion)], NeuronNode, k, layers)

    def rows(self, emotion: str) -> list[list]:
        e = self.emotions.index(emotion)
        L, D = self.scores.shape[1:]
        order = self.scores[e].flatten().argsort(descending=True)
        return [[int(i) // D, int(i) % D, float(self.scores[e].flatten()[i]),
                 float(self.mean_activation[e].flatten()[i]), float(self.w_out_v[e].flatten()[i])] for i in order]

    def save(self, stem: str | Path) -> None:
        from safetensors.torch import save

        stem = Path(stem)
        t = {"scores": self.scores, "mean_activation": self.mean_activation, "w_out_v": self.w_out_v}
        atomic_write_bytes(stem.with_suffix(".safetensors"), save({k: v.contiguous() for k, v in t.items()}))
        atomic_write_bytes(stem.with_suffix(".json"), dumps_json({"emotions": list(self.emotions)}).encode())

    @classmethod
    def load(cls, stem: str | Path) -> NeuronScores:
        from safetensors.torch import load_file

        stem = Path(stem)
        t = load_file(str(stem.with_suffix(".safetensors")))
        meta = json.loads(stem.with_suffix(".json").read_text())
        return cls(t["scores"], t["mean_activation"], t["w_out_v"], tuple(meta["emotions"]))


def neuron_scores(
    model: Backend,
    prompts: Sequence[Prompt],
    directions: EmotionDirections,
    batch_size: int = 64,
) -> NeuronScores:
    """Analytic neuron scores for every emotion of ``directions`` from its emotion prompts."""
    L = model.info.n_layers
    sites = [NeuronsSite(layer) for layer in range(L)]
    acts = read_last_token(model, [p.text for p in prompts], sites, batch_size)
    post = torch.stack([acts[s] for s in sites], dim=1)  # [prompt layer d_mlp]
    emotions = directions.emotions
    mean_act = torch.stack([post[[i for i, p in enumerate(prompts) if p.emotion == e]].mean(0) for e in emotions]).cpu()
    w_out_v = torch.stack(
        [
            torch.stack([model.mlp_out_weight(NeuronsSite(layer)).float()
                         @ directions.vector(e, ResidSite(layer, ReadOut.RESID_POST)).to(model.device)
                         for layer in range(L)])
            for e in emotions
        ]
    ).cpu()
    return NeuronScores(mean_act * w_out_v, mean_act, w_out_v, emotions)
