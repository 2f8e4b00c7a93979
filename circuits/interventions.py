"""Interventions: hook factories and the context manager that attaches them.

Every change to a forward pass (steering, ablation, enhancement, circuit modulation) is a list
of ``(site, hook)`` pairs attached by :func:`intervene`, which removes them when the block ends,
even when it raises: the model is stateless between contexts. Hooks are made by the named
factories below (no lambdas built in loops), each with an explicit :class:`Positions` policy
that stays correct under the generation engine's key-value cache.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Iterator, Sequence

import torch
from jaxtyping import Float, Int
from torch import Tensor

from circuits.generation import decode_step
from circuits.model.backend import HookedModel, HookFn
from circuits.sites import Site


class Positions(enum.Enum):
    """Which token positions an intervention acts on, in each forward call.

    Under a key-value cache the first call (prefill) sees the whole prompt and every later
    call sees one new token; outside generation a forward call counts as a prefill.
    """

    LAST = "last"
    """The last position of every call: the last prompt token, then every fed-back generated
    token. The study's policy for steering and for circuit neurons."""
    ALL = "all"
    """Every position of every call: all prompt tokens, then every generated token. The
    study's policy for circuit heads."""
    PROMPT_LAST = "prompt_last"
    """Only the last prompt token (the prefill call); decoding steps are left alone."""
    PROMPT = "prompt"
    """Every prompt position (the prefill call); decoding steps are left alone. Edits of the
    prompt persist through the key-value cache, so generated tokens see them without being
    edited themselves."""
    GENERATED = "generated"
    """Only decoding steps (generated tokens); the prompt is left alone."""

    def select(self, seq_len: int) -> slice | None:
        """The positions to edit in a call of ``seq_len`` positions (None: leave the call alone)."""
        step = decode_step()
        prefill = step is None or step == 0
        if self is Positions.LAST:
            return slice(seq_len - 1, seq_len)
        if self is Positions.ALL:
            return slice(0, seq_len)
        if self is Positions.PROMPT_LAST:
            return slice(seq_len - 1, seq_len) if prefill else None
        if self is Positions.PROMPT:
            return slice(0, seq_len) if prefill else None
        return None if prefill else slice(0, seq_len)


@contextlib.contextmanager
def intervene(model: HookedModel, hooks: Sequence[tuple[Site, HookFn]]) -> Iterator[HookedModel]:
    """Attach ``hooks`` for the duration of the block; always removed afterwards."""
    with model.hooks(hooks):
        yield model


class AddVector:
    """``act[:, pos] += scale * vec`` on a [batch pos d] site; with ``rms_scaled`` the vector is
    multiplied by each edited position's RMS norm (the study's ``alpha * RMS(h) * v``)."""

    def __init__(self, vec: Float[Tensor, " d"], positions: Positions, scale: float = 1.0, rms_scaled: bool = False):
        self.vec, self.positions, self.scale, self.rms_scaled = vec, positions, scale, rms_scaled

    def __call__(self, act: Float[Tensor, "batch pos d"]) -> Tensor:
        sel = self.positions.select(act.shape[1])
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
        sel = self.positions.select(act.shape[1])
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
        sel = self.positions.select(act.shape[1])
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
