"""The model interface the whole framework uses: :class:`Backend`.

The pipeline sees a language model with hooks: architecture numbers (:class:`ModelInfo`), a
tokenizer with a chat template, a forward pass over left-padded token batches with an optional
key-value cache, temporary hooks on typed :mod:`circuits.sites`, and read access to the few
weights the analytic methods need. A backend maps each site to a hook point of its own
implementation; nothing outside ``circuits/model/`` knows how.

Two implementations: :class:`~circuits.model.hooked.TLBackend` (TransformerLens' ``HookedTransformer``,
the default, with the fast paths) and :class:`~circuits.model.bridge.BridgeBackend` (its
``TransformerBridge``: the ``transformers`` model with the same hook points; ``model.backend=bridge``).
Another backend is one new module in ``circuits/model/`` that implements this Protocol, plus a
line in :func:`circuits.model.loading.load_model`.

The hook protocol: a hook is ``fn(activation) -> replacement | None`` (:data:`HookFn`), attached
with ``with model.hooks([(site, fn), ...]):`` and removed when the block ends, even if it raises.
:class:`Record` is the one hook that keeps what it sees.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import torch
from jaxtyping import Float, Int
from torch import Tensor

from circuits.sites import HeadsSite, NeuronsSite, ResidSite, Site

HookFn = Callable[[Tensor], Tensor | None]
"""A hook: receives the activation at a site and returns a replacement (or None to keep it)."""

KVCache = Any
"""A key-value cache made by a backend (:meth:`Backend.new_kv_cache`, :meth:`Backend.prefix_cache`):
opaque to callers, who only pass it back to the backend that made it."""


@dataclass(frozen=True)
class ModelInfo:
    """Architecture numbers of a loaded model."""

    name: str
    n_layers: int
    n_heads: int
    d_model: int
    d_head: int
    d_mlp: int
    d_vocab: int
    n_ctx: int


@dataclass(frozen=True)
class TokenBatch:
    """Left-padded prompts: real tokens are right-aligned so position -1 is every row's last."""

    tokens: Int[Tensor, "batch pos"]
    attention_mask: Int[Tensor, "batch pos"]

    @property
    def lengths(self) -> Int[Tensor, " batch"]:
        return self.attention_mask.sum(dim=1)

    def __len__(self) -> int:
        return self.tokens.shape[0]


def length_batches(ids: Sequence[Sequence[int]], batch_size: int) -> list[list[int]]:
    """Indices of ``ids`` sorted longest first (ties: original order), cut into batches of
    ``batch_size``: batches of similar lengths need little padding."""
    order = sorted(range(len(ids)), key=lambda i: (-len(ids[i]), i))
    size = max(1, batch_size)
    return [order[i : i + size] for i in range(0, len(order), size)]


class StopForward(Exception):
    """Raised by a :class:`Record` with ``stop=True`` to end a forward pass once it has what it needs."""


class Record:
    """The hook that keeps what it sees, leaving the activation unchanged.

    Args:
        last: keep only the last position (``act[:, -1]``: the last prompt token of a left-padded batch).
        dtype: cast what is kept (e.g. ``torch.float32``); None keeps the activation's dtype.
        cpu: move what is kept to the CPU.
        append: keep every call's value in :attr:`values` (a private copy each) instead of the
            latest one in :attr:`value`.
        detach: keep a tensor cut from the autograd graph (off: the activation itself, so a
            metric computed from it can be backpropagated).
        grad: ask autograd to store the activation's gradient (``value.grad`` after a backward
            pass); implies ``detach=False``.
        stop: end the forward pass right after recording (:class:`StopForward`, caught by the
            backend's :meth:`~Backend.run_until`).
    """

    def __init__(self, last: bool = False, dtype: torch.dtype | None = None, cpu: bool = False,
                 append: bool = False, detach: bool = True, grad: bool = False, stop: bool = False) -> None:
        self.last, self.dtype, self.cpu, self.append, self.stop = last, dtype, cpu, append, stop
        self.grad, self.detach = grad, detach and not grad
        self.value: Tensor | None = None
        self.values: list[Tensor] = []

    def __call__(self, activation: Tensor) -> Tensor | None:
        if self.grad:
            activation.retain_grad()
        x = activation[:, -1] if self.last else activation
        if self.detach:
            x = x.detach()
        if self.dtype is not None:
            x = x.to(self.dtype)
        if self.cpu:
            x = x.cpu()
        if self.append:
            self.values.append(x.clone())
        else:
            self.value = x
        if self.stop:
            raise StopForward
        # Handing the activation back makes it the tensor the model computes on: a backend that
        # shows a hook a converted view (the bridge's [batch pos head d_head] z) otherwise carries
        # on with its own tensor, and the gradient never reaches the one kept here.
        return activation if self.grad else None


def stop_layer(sites: Iterable[Site]) -> int:
    """The block to stop a forward pass before, once every site in ``sites`` has fired: one past
    the deepest layer (a site without a layer, the embedding, counts as layer 0). At
    ``n_layers`` it skips only the unembedding."""
    return max((getattr(s, "layer", 0) for s in sites), default=0) + 1


@runtime_checkable
class Backend(Protocol):
    """A language model with hooks: the one interface the pipeline uses."""

    name: str
    info: ModelInfo
    stop_token_ids: tuple[int, ...]
    """Tokens that end a reply (end of turn, end of text)."""
    pad_token_id: int
    supports_prefix_cache: bool
    """Whether :meth:`prefix_cache`, :meth:`repeat_cache` and ``run_until(kv_cache=...)`` work;
    the fast paths that need them fall back to plain passes when not."""

    # --- text ---------------------------------------------------------------------------------
    def render_chat(self, messages: Sequence[dict[str, str]], add_generation_prompt: bool = True) -> str:
        """The chat-template rendering of ``messages`` (a list of ``{"role", "content"}``)."""
    def token_ids(self, text: str) -> list[int]:
        """Token ids of ``text`` as written (no special tokens added: templates carry them)."""
    def encode(self, texts: Sequence[str]) -> TokenBatch:
        """Tokenize and left-pad a batch of prompts."""
    def pad(self, sequences: Sequence[Sequence[int]]) -> TokenBatch:
        """Left-pad token-id lists into a :class:`TokenBatch`."""
    def decode(self, ids: Sequence[int]) -> str: ...
    def str_tokens(self, text: str) -> list[str]:
        """The tokens of ``text`` as strings, for views."""

    # --- compute ------------------------------------------------------------------------------
    @property
    def device(self) -> torch.device: ...
    @property
    def dtype(self) -> torch.dtype: ...
    @property
    def has_mlp(self) -> bool: ...
    def after_attention(self, layer: int) -> ResidSite:
        """The residual right after layer ``layer``'s attention (``resid_post`` in attention-only models)."""
    def forward(self, tokens: Int[Tensor, "batch pos"], attention_mask: Int[Tensor, "batch pos"],
                kv_cache: KVCache | None = None, stop_at_layer: int | None = None) -> Tensor:
        """Logits for a left-padded batch (or the residual before block ``stop_at_layer``)."""
    def last_logits(self, tokens: Int[Tensor, "batch pos"], attention_mask: Int[Tensor, "batch pos"],
                    kv_cache: KVCache | None = None) -> Float[Tensor, "batch d_vocab"]:
        """Logits at the last position only."""
    def tail_logits(self, tokens: Int[Tensor, "batch pos"], attention_mask: Int[Tensor, "batch pos"], k: int,
                    kv_cache: KVCache | None = None) -> Float[Tensor, "batch k d_vocab"]:
        """Logits at the last ``k`` positions only."""
    def run_until(self, site: Site, attention_mask: Int[Tensor, "batch pos"],
                  tokens: Int[Tensor, "batch pos"] | None = None, resid: Tensor | None = None,
                  start_layer: int = 0, kv_cache: KVCache | None = None) -> Tensor:
        """Run from the tokens (or from ``resid`` entering block ``start_layer``) and return the
        activation at ``site``, skipping everything after it."""
    def prefix_cache(self, tokens: Int[Tensor, "batch pos"], attention_mask: Int[Tensor, "batch pos"]) -> KVCache:
        """The frozen keys and values of every layer over a left-padded prefix."""
    def repeat_cache(self, cache: KVCache, copies: int, layers: Sequence[int] | None = None) -> KVCache:
        """``cache`` for ``copies`` stacked copies of its rows, frozen."""
    def prefix_logits(self, tokens: Int[Tensor, "batch pos"], attention_mask: Int[Tensor, "batch pos"]
                      ) -> tuple[Float[Tensor, "batch d_vocab"], KVCache]:
        """The logits at a left-padded prefix's last position and its frozen prefix cache."""
    def cache_rows(self, cache: KVCache, rows: Int[Tensor, " selected"]) -> KVCache:
        """A frozen prefix cache of the rows ``rows`` of ``cache`` (repeats allowed)."""
    def new_kv_cache(self, batch_size: int) -> KVCache:
        """An empty key-value cache for incremental decoding of ``batch_size`` rows."""
    def keep_rows(self, cache: KVCache, rows: Int[Tensor, " kept"]) -> None:
        """Shrink a decoding cache to the batch rows ``rows`` (in that order)."""
    def hooks(self, hooks: Sequence[tuple[Site, HookFn]]) -> AbstractContextManager[Backend]:
        """Attach ``hooks`` for the duration of the block; removed even if it raises."""
    def n_active_hooks(self) -> int:
        """How many hooks are attached right now (0 between interventions)."""

    # --- weights ------------------------------------------------------------------------------
    def mlp_out_weight(self, site: NeuronsSite) -> Float[Tensor, "d_mlp d_model"]: ...
    def mlp_out_bias(self, site: NeuronsSite) -> Float[Tensor, " d_model"]: ...
    def attn_out_weight(self, site: HeadsSite) -> Float[Tensor, "head d_head d_model"]: ...
    def attn_out_bias(self, site: HeadsSite) -> Float[Tensor, " d_model"]: ...
