"""``EmotionDirections``: one unit vector per emotion x layer x read-out, immutable, saved as
safetensors plus JSON metadata and loadable on its own."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from jaxtyping import Float
from torch import Tensor

from circuits.artifacts import atomic_write_bytes, dumps_json
from circuits.sites import READOUTS, ResidSite, resid_sites


@dataclass(frozen=True, eq=False)
class EmotionDirections:
    """Emotion directions in the residual stream.

    ``vectors[e, i]`` is the unit direction of emotion ``emotions[e]`` at read-out ``sites[i]``
    (depth order: L0.attn, L0.mlp, L1.attn, ...). ``rms[i]`` is the mean RMS norm of the
    read-out over the prompts (the study's sigma), and ``raw[e, i]`` the unnormalised contrast.
    """

    vectors: Float[Tensor, "emotion site d_model"]
    raw: Float[Tensor, "emotion site d_model"]
    rms: Float[Tensor, " site"]
    emotions: tuple[str, ...]
    n_layers: int
    model: str
    aggregator: str
    n_groups: int
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        E, S, _ = self.vectors.shape
        assert E == len(self.emotions) and S == 2 * self.n_layers, "vectors must be [emotion, 2 * n_layers, d_model]"

    @property
    def sites(self) -> list[ResidSite]:
        return resid_sites(self.n_layers)

    @property
    def d_model(self) -> int:
        return self.vectors.shape[-1]

    def vector(self, emotion: str, site: ResidSite) -> Float[Tensor, " d_model"]:
        return self.vectors[self.emotions.index(emotion), site.index]

    def at(self, site: ResidSite) -> Float[Tensor, "emotion d_model"]:
        return self.vectors[:, site.index]

    def sigma(self, site: ResidSite) -> float:
        return float(self.rms[site.index])

    def cross_sublayer_cosines(self, emotion: str) -> Float[Tensor, "site site"]:
        """Cosine between this emotion's directions at every pair of read-outs (2L x 2L)."""
        v = self.vectors[self.emotions.index(emotion)]
        return v @ v.T

    def emotion_cosines(self, site: ResidSite) -> Float[Tensor, "emotion emotion"]:
        v = self.at(site)
        return v @ v.T

    def rows(self) -> list[dict]:
        """A tabular view: one row per emotion x read-out."""
        out = []
        for e, emotion in enumerate(self.emotions):
            for site in self.sites:
                out.append({"emotion": emotion, "layer": site.layer, "readout": site.readout.value,
                            "raw_norm": float(self.raw[e, site.index].norm()), "sigma": self.sigma(site)})
        return out

    # --- persistence --------------------------------------------------------------------------
    def metadata(self) -> dict:
        return {
            "kind": "emotion_directions",
            "model": self.model,
            "emotions": list(self.emotions),
            "n_layers": self.n_layers,
            "readouts": [r.value for r in READOUTS],
            "sites": [str(s) for s in self.sites],
            "d_model": self.d_model,
            "aggregator": self.aggregator,
            "n_groups": self.n_groups,
            **self.meta,
        }

    def save(self, stem: str | Path) -> tuple[Path, Path]:
        """Write ``<stem>.safetensors`` and ``<stem>.json``."""
        from safetensors.torch import save

        stem = Path(stem)
        tensors = {"vectors": self.vectors.contiguous(), "raw": self.raw.contiguous(), "rms": self.rms.contiguous()}
        st, js = stem.with_suffix(".safetensors"), stem.with_suffix(".json")
        atomic_write_bytes(st, save(tensors, metadata={"kind": "emotion_directions"}))
        atomic_write_bytes(js, dumps_json(self.metadata()).encode())
        return st, js

    @classmethod
    def load(cls, stem: str | Path) -> EmotionDirections:
        from safetensors.torch import load_file

        stem = Path(stem)
        meta = json.loads(stem.with_suffix(".json").read_text())
        t = load_file(str(stem.with_suffix(".safetensors")))
        known = {"kind", "model", "emotions", "n_layers", "readouts", "sites", "d_model", "aggregator", "n_groups"}
        return cls(t["vectors"], t["raw"], t["rms"], tuple(meta["emotions"]), meta["n_layers"], meta["model"],
                   meta["aggregator"], meta["n_groups"], {k: v for k, v in meta.items() if k not in known})
