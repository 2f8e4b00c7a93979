"""Intervention vectors (method.md, stage 5): the within-group contrast ``dmu`` of each emotion
in the neuron space (``mlp.hook_post``) and in each head's output space (``attn.hook_z``),
at the last prompt token, *not* normalised: adding ``s * dmu`` to a component moves it by
``s`` times the average difference the instruction makes there."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from jaxtyping import Float
from torch import Tensor

from circuits.artifacts import atomic_write_bytes, dumps_json
from circuits.data.prompts import Prompt
from circuits.directions.extract import group_contrasts
from circuits.model.backend import HookedModel
from circuits.sites import HeadsSite, NeuronsSite


@dataclass(frozen=True, eq=False)
class InterventionVectors:
    neurons: Float[Tensor, "emotion layer d_mlp"]
    heads: Float[Tensor, "emotion layer head d_head"]
    emotions: tuple[str, ...]
    n_groups: int

    def of(self, emotion: str) -> tuple[Tensor, Tensor]:
        e = self.emotions.index(emotion)
        return self.neurons[e], self.heads[e]

    def save(self, stem: str | Path) -> None:
        from safetensors.torch import save

        stem = Path(stem)
        atomic_write_bytes(stem.with_suffix(".safetensors"),
                           save({"neurons": self.neurons.contiguous(), "heads": self.heads.contiguous()}))
        atomic_write_bytes(stem.with_suffix(".json"), dumps_json(
            {"kind": "intervention_vectors", "emotions": list(self.emotions), "n_groups": self.n_groups,
             "neuron_site": "mlp.hook_post", "head_site": "attn.hook_z", "normalised": False}).encode())

    @classmethod
    def load(cls, stem: str | Path) -> InterventionVectors:
        from safetensors.torch import load_file

        stem = Path(stem)
        t = load_file(str(stem.with_suffix(".safetensors")))
        meta = json.loads(stem.with_suffix(".json").read_text())
        return cls(t["neurons"], t["heads"], tuple(meta["emotions"]), meta["n_groups"])


def intervention_vectors(
    model: HookedModel, prompts: Sequence[Prompt], emotions: Sequence[str], batch_size: int = 64
) -> InterventionVectors:
    L = model.info.n_layers
    sites = [NeuronsSite(layer) for layer in range(L)] + [HeadsSite(layer) for layer in range(L)]
    contrasts, n_groups = group_contrasts(model, prompts, emotions, sites, batch_size)
    neurons = torch.stack(contrasts[:L], dim=1)
    heads = torch.stack(contrasts[L:], dim=1)
    return InterventionVectors(neurons, heads, tuple(emotions), n_groups)
