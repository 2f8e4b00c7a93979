"""Intervention vectors (the study's stage 5): the within-group contrast ``dmu`` of each emotion
in the neuron space (``mlp.hook_post``) and in each head's output space (``attn.hook_z``),
at the last prompt token, *not* normalised: adding ``s * dmu`` to a component moves it by
``s`` times the average difference the instruction makes there.

The study adds the same last-prompt-token ``dmu`` at every generated token too, where the
model is in a different state (writing a reply, not about to start one), which is one reason
its modulated replies come out caricatured and repetitive. :func:`reply_contrasts` measures
the contrast where it is applied during decoding: over reply positions, by teacher-forcing the
elicited replies. Both are kept; the modulation chooses (``modulate.reply_vectors``).

The within-group contrast ``mu_e - mean_e' mu_e'`` is centred on the *average emotion*: it says
how emotion ``e`` differs from the other five, not how it differs from the neutral prompt the
modulation starts from. :func:`neutral_anchored` measures ``mu_e - mu_neutral`` over the same
groups (the neutral prompt of each skeleton and valence): the group contrast plus one shift,
common to every emotion, from "no instruction" to "an emotion instruction"
(``modulate.anchor``)."""

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
from circuits.directions.extract import group_contrasts, group_prompts, stream_group_sites
from circuits.model.backend import Backend, Record
from circuits.sites import HeadsSite, NeuronsSite
from circuits.vocab import Phase


@dataclass(frozen=True, eq=False)
class InterventionVectors:
    """``dmu`` at the last prompt token (the study's) and, optionally, over reply positions."""

    neurons: Float[Tensor, "emotion layer d_mlp"]
    heads: Float[Tensor, "emotion layer head d_head"]
    emotions: tuple[str, ...]
    n_groups: int
    reply_neurons: Float[Tensor, "emotion layer d_mlp"] | None = None
    reply_heads: Float[Tensor, "emotion layer head d_head"] | None = None

    def of(self, emotion: str, phase: Phase = Phase.PROMPT) -> tuple[Tensor, Tensor]:
        """(neurons [layer d_mlp], heads [layer head d_head]) of ``emotion`` for ``phase``."""
        e = self.emotions.index(emotion)
        if phase is Phase.REPLY:
            if self.reply_neurons is None or self.reply_heads is None:
                raise ValueError("these intervention vectors have no reply-phase contrast")
            return self.reply_neurons[e], self.reply_heads[e]
        return self.neurons[e], self.heads[e]

    def with_reply(self, neurons: Tensor, heads: Tensor) -> InterventionVectors:
        return InterventionVectors(self.neurons, self.heads, self.emotions, self.n_groups, neurons, heads)

    def with_prompt(self, neurons: Tensor, heads: Tensor, n_groups: int) -> InterventionVectors:
        """The same reply-phase vectors with other prompt-phase ones (e.g. :func:`neutral_anchored`)."""
        return InterventionVectors(neurons, heads, self.emotions, n_groups, self.reply_neurons, self.reply_heads)

    def save(self, stem: str | Path) -> None:
        from safetensors.torch import save

        stem = Path(stem)
        tensors = {"neurons": self.neurons.contiguous(), "heads": self.heads.contiguous()}
        if self.reply_neurons is not None and self.reply_heads is not None:
            tensors.update(reply_neurons=self.reply_neurons.contiguous(), reply_heads=self.reply_heads.contiguous())
        atomic_write_bytes(stem.with_suffix(".safetensors"), save(tensors))
        atomic_write_bytes(stem.with_suffix(".json"), dumps_json(
            {"kind": "intervention_vectors", "emotions": list(self.emotions), "n_groups": self.n_groups,
             "neuron_site": "mlp.hook_post", "head_site": "attn.hook_z", "normalised": False}).encode())
        # The site names above are the artifact's documented format (TransformerLens' names of
        # NeuronsSite and HeadsSite), kept so that files written before the sites became
        # backend-neutral read the same.

    @classmethod
    def load(cls, stem: str | Path) -> InterventionVectors:
        from safetensors.torch import load_file

        stem = Path(stem)
        t = load_file(str(stem.with_suffix(".safetensors")))
        meta = json.loads(stem.with_suffix(".json").read_text())
        return cls(t["neurons"], t["heads"], tuple(meta["emotions"]), meta["n_groups"],
                   t.get("reply_neurons"), t.get("reply_heads"))


def _circuit_sites(n_layers: int) -> list:
    return [NeuronsSite(layer) for layer in range(n_layers)] + [HeadsSite(layer) for layer in range(n_layers)]


def intervention_vectors(
    model: Backend, prompts: Sequence[Prompt], emotions: Sequence[str], batch_size: int = 64
) -> InterventionVectors:
    L = model.info.n_layers
    sites = _circuit_sites(L)
    contrasts, n_groups = group_contrasts(model, prompts, emotions, sites, batch_size)
    neurons = torch.stack(contrasts[:L], dim=1)
    heads = torch.stack(contrasts[L:], dim=1)
    return InterventionVectors(neurons, heads, tuple(emotions), n_groups)


@torch.inference_mode()
def neutral_anchored(
    model: Backend,
    prompts: Sequence[Prompt],
    neutral: Sequence[Prompt],
    emotions: Sequence[str],
    batch_size: int = 64,
) -> tuple[Float[Tensor, "emotion layer d_mlp"], Float[Tensor, "emotion layer head d_head"], int]:
    """``mu_e - mu_neutral`` at the last prompt token, in the neuron and head spaces: the
    difference the instruction for ``e`` makes relative to the neutral prompt of the same
    (skeleton, valence), averaged over the groups that have all six emotion prompts and the
    neutral one. Returns (neurons, heads, number of groups)."""
    L = model.info.n_layers
    sites = _circuit_sites(L)
    by_group = {p.group: p for p in neutral}
    groups = [[*g, by_group[g[0].group]] for g in group_prompts(prompts, emotions) if g[0].group in by_group]
    if not groups:
        raise ValueError("no complete group has a neutral prompt: pass the neutral prompts of the same skeletons")
    sums: list[Tensor] | None = None
    for _, acts in stream_group_sites(model, groups, sites, batch_size, desc="reading neutral-anchored contrasts"):
        part = [(a[:, :-1] - a[:, -1:]).float().sum(0) for a in acts]
        sums = part if sums is None else [s + x for s, x in zip(sums, part)]
    assert sums is not None
    out = [s / len(groups) for s in sums]
    return torch.stack(out[:L], dim=1), torch.stack(out[L:], dim=1), len(groups)


@torch.inference_mode()
def reply_contrasts(
    model: Backend,
    groups: Sequence[dict[str, tuple[str, str]]],
    emotions: Sequence[str],
) -> tuple[Float[Tensor, "emotion layer d_mlp"], Float[Tensor, "emotion layer head d_head"]]:
    """The within-group contrast over *reply* positions: each group's six (prompt, reply) pairs
    are teacher-forced, every circuit site is averaged over the positions where a generated
    token is fed back (the reply tokens but the last), and the six means are centred.

    This is the ``dmu`` that matches decoding steps, where the study adds the last-prompt-token
    ``dmu``: the same difference the instruction makes, measured where it is applied.
    """
    L = model.info.n_layers
    sites = _circuit_sites(L)
    keep = [Record(dtype=torch.float32) for _ in sites]
    sums: list[Tensor] | None = None
    with model.hooks(list(zip(sites, keep))):
        for group in groups:
            prompts = [model.token_ids(group[e][0]) for e in emotions]
            replies = [model.token_ids(group[e][1]) for e in emotions]
            batch = model.pad([p + r for p, r in zip(prompts, replies)])
            model.forward(batch.tokens, batch.attention_mask, stop_at_layer=L)
            W = batch.tokens.shape[1]
            means = []
            for k in keep:
                rows = [k.value[i, W - len(r) : W - 1].mean(0) if len(r) > 1 else k.value[i, W - 1]
                        for i, r in enumerate(replies)]
                x = torch.stack(rows)
                means.append(x - x.mean(0, keepdim=True))
            sums = means if sums is None else [s + x for s, x in zip(sums, means)]
    assert sums is not None, "no groups to read"
    out = [s / len(groups) for s in sums]
    return torch.stack(out[:L], dim=1), torch.stack(out[L:], dim=1)
