"""Interventions: hook factories and the context manager that attaches them.

Every change to a forward pass (steering, ablation, enhancement, circuit modulation) is a list
of ``(site, hook)`` pairs attached by :func:`intervene`, which removes them when the block ends,
even when it raises: the model is stateless between contexts. Hooks are made by the named
factories below (no lambdas built in loops), each with an explicit :class:`Positions` policy
that stays correct under the generation engine's key-value cache.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterable, Iterator, Sequence

import torch
from jaxtyping import Float, Int
from torch import Tensor

from circuits.model.backend import Backend, HookFn
from circuits.nodes import Node, by_site
from circuits.sites import Site
from circuits.vocab import Positions

_STEP: contextvars.ContextVar[int | None] = contextvars.ContextVar("decode_step", default=None)


def decode_step() -> int | None:
    """0 during a prefill forward, k during the k-th decoding step, None outside generation
    (set by the generation engine, :func:`circuits.generation.generate`)."""
    return _STEP.get()


@contextlib.contextmanager
def at_step(step: int) -> Iterator[None]:
    """Forward calls inside the block are decoding step ``step`` (0: the prefill)."""
    token = _STEP.set(step)
    try:
        yield
    finally:
        _STEP.reset(token)


def _positions(positions: Positions, seq_len: int) -> slice | None:
    return positions.select(seq_len, decode_step())


@contextlib.contextmanager
def intervene(model: Backend, hooks: Sequence[tuple[Site, HookFn]]) -> Iterator[Backend]:
    """Attach ``hooks`` for the duration of the block; always removed afterwards."""
    with model.hooks(hooks):
        yield model


class AddVector:
    """``act[:, pos] += scale * vec`` on a [batch pos d] site; with ``rms_scaled`` the vector is
    multiplied by each edited position's RMS norm (the study's ``alpha * RMS(h) * v``)."""

    def __init__(self, vec: Float[Tensor, " d"], positions: Positions, scale: float = 1.0, rms_scaled: bool = False):
        self.vec, self.positions, self.scale, self.rms_scaled = vec, positions, scale, rms_scaled

    def __call__(self, act: Float[Tensor, "batch pos d"]) -> Tensor:
        sel = _positions(self.positions, act.shape[1])
        if sel is None or self.scale == 0:
            return act
        act = act.clone()
        part = act[:, sel]
        add = self.scale * self.vec.to(act)
        if self.rms_scaled:
            add = part.pow(2).mean(dim=-1, keepdim=True).sqrt() * add
        act[:, sel] = part + add
        return act


class AddToUnits:
    """Add ``scale * values`` to selected units of the last axis (neurons of ``mlp.hook_post``)
    or to selected heads of a [batch pos head d_head] site (``attn.hook_z``)."""

    def __init__(self, index: Int[Tensor, " k"], values: Tensor, positions: Positions, scale: float = 1.0):
        self.index, self.values, self.positions, self.scale = index, values, positions, scale

    def __call__(self, act: Tensor) -> Tensor:
        sel = _positions(self.positions, act.shape[1])
        if sel is None or self.scale == 0 or len(self.index) == 0:
            return act
        act = act.clone()
        if act.ndim == 3:
            act[:, sel, self.index] += self.scale * self.values.to(act)
        else:
            act[:, sel, self.index, :] += self.scale * self.values.to(act)
        return act


class ScaleUnits:
    """Replace selected units by ``baseline + scale * (act - baseline)``: scale 0 ablates them
    (to the baseline: zero, a dataset mean, or a resample), scale s > 1 enhances them."""

    def __init__(self, index: Int[Tensor, " k"], positions: Positions, scale: float = 0.0, baseline: Tensor | None = None):
        self.index, self.positions, self.scale, self.baseline = index, positions, scale, baseline

    def __call__(self, act: Tensor) -> Tensor:
        sel = _positions(self.positions, act.shape[1])
        if sel is None or len(self.index) == 0:
            return act
        act = act.clone()
        if act.ndim == 3:
            cur = act[:, sel][..., self.index]
        else:
            cur = act[:, sel][:, :, self.index, :]
        base = torch.zeros_like(cur) if self.baseline is None else self.baseline.to(act).expand_as(cur)
        new = base + self.scale * (cur - base)
        if act.ndim == 3:
            act[:, sel, self.index] = new
        else:
            act[:, sel, self.index, :] = new
        return act


class PhasedAddToUnits:
    """:class:`AddToUnits` with one vector for the prompt (the prefill call) and another for
    decoding steps: ``prompt_scale * prompt_values`` then ``reply_scale * reply_values``, the
    latter only in the first ``reply_steps`` decoding steps (None: every step)."""

    def __init__(self, index: Int[Tensor, " k"], prompt_values: Tensor, reply_values: Tensor, positions: Positions,
                 prompt_scale: float, reply_scale: float, reply_steps: int | None = None) -> None:
        self.prompt = AddToUnits(index, prompt_values, positions, prompt_scale)
        self.reply = AddToUnits(index, reply_values, positions, reply_scale)
        self.reply_steps = reply_steps

    def __call__(self, act: Tensor) -> Tensor:
        step = decode_step()
        if step is None or step == 0:
            return self.prompt(act)
        if self.reply_steps is not None and step > self.reply_steps:
            return act
        return self.reply(act)


def scale_hooks(nodes: Iterable[Node], scale: float, positions: Positions = Positions.ALL) -> list[tuple[Site, HookFn]]:
    """Hooks that multiply the nodes' outputs by ``scale`` (0: zero-ablate; s > 1: enhance)."""
    return [(site, ScaleUnits(idx, positions, scale)) for site, idx in by_site(nodes).items()]
