"""The TransformerLens backend: a ``HookedTransformer`` behind the :class:`~circuits.model.backend.Backend`
interface.

Every TransformerLens-specific call of the framework lives here, in :mod:`circuits.model.fast_decode`
and in the loaders next to them, which build the ``HookedTransformer``. :class:`TLBackend` maps each
typed site of :mod:`circuits.sites` to its hook point (:func:`hook_point`), adapts the framework's
hook protocol ``fn(activation)`` to TransformerLens' ``fn(activation, hook)``, and wraps its key-value
caches so that callers only pass them around.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from jaxtyping import Float, Int
from torch import Tensor

from circuits.errors import UserError
from circuits.model.backend import HookFn, KVCache, ModelInfo, Record, StopForward, TokenBatch
from circuits.sites import (
    EmbedSite,
    HeadsSite,
    NeuronsSite,
    PatternSite,
    ReadOut,
    ResidSite,
    Site,
    SublayerSite,
)


def hook_point(site: Site) -> str:
    """The TransformerLens hook name of ``site``: the only place hook names are built."""
    if isinstance(site, ResidSite):
        return f"blocks.{site.layer}.hook_{site.readout.value}"
    if isinstance(site, SublayerSite):
        return f"blocks.{site.layer}.hook_{site.sublayer.value}_out"
    if isinstance(site, HeadsSite):
        return f"blocks.{site.layer}.attn.hook_z"
    if isinstance(site, NeuronsSite):
        return f"blocks.{site.layer}.mlp.hook_post"
    if isinstance(site, PatternSite):
        return f"blocks.{site.layer}.attn.hook_pattern"
    if isinstance(site, EmbedSite):
        return "blocks.0.hook_resid_pre"
    raise TypeError(f"not a site: {site!r}")


class _SiteHook:
    """Adapts a framework hook ``fn(activation)`` to TransformerLens' ``fn(activation, hook)``."""

    def __init__(self, fn: HookFn) -> None:
        self.fn = fn

    def __call__(self, activation: Tensor, hook: Any) -> Tensor | None:
        return self.fn(activation)


def _relayout(param: torch.nn.Parameter, order: tuple[int, ...]) -> None:
    """Store ``param`` so that ``param.permute(order)`` is contiguous, without changing values."""
    inverse = tuple(order.index(i) for i in range(len(order)))
    param.data = param.data.permute(order).contiguous().permute(inverse)


def optimize_layout(tl_model: Any) -> None:
    """Store weights in the memory layout TransformerLens' forward pass asks for.

    TransformerLens builds contiguous copies of several weights on every call (``W.T.contiguous()``
    in gated MLPs and the unembedding, a rearranged ``W_O``, rearranged ``W_Q/W_K/W_V``): for a
    135 M model that is ~0.5 GB of copying per decoding step. Storing each parameter as a view
    of a buffer already in that layout makes those copies no-ops; values and results are
    bit-identical.
    """
    from transformer_lens.components.mlps.gated_mlp import GatedMLP

    with torch.no_grad():
        _relayout(tl_model.unembed.W_U, (1, 0))
        for block in tl_model.blocks:
            if isinstance(getattr(block, "mlp", None), GatedMLP):
                for name in ("W_gate", "W_in", "W_out"):
                    _relayout(getattr(block.mlp, name), (1, 0))
            attn = block.attn
            _relayout(attn.W_O, (2, 0, 1))
            for name in ("W_Q", "_W_K", "_W_V", "W_K", "W_V"):
                p = attn._parameters.get(name)
                if p is not None:
                    _relayout(p, (0, 2, 1))


def _gelu_tanh(x: Tensor) -> Tensor:
    return torch.nn.functional.gelu(x, approximate="tanh")


def fuse_activations(tl_model: Any) -> None:
    """Compute GPT-2's tanh GELU (TransformerLens' ``gelu_new``/``gelu_fast``, six elementwise
    passes) as PyTorch's single fused kernel: the same formula, 11x faster on a prompt's worth of
    activations and 2x on a decoding step on CPU (emo-tiny's MLPs). The values differ from the
    step-by-step ones by at most ~2e-7 (float rounding); the hook points are unchanged."""
    from transformer_lens.utilities.activation_functions import gelu_fast, gelu_new

    for block in tl_model.blocks:
        mlp = getattr(block, "mlp", None)
        if mlp is not None and getattr(mlp, "act_fn", None) in (gelu_new, gelu_fast):
            mlp.act_fn = _gelu_tanh


class HookPointBackend:
    """What every backend built on TransformerLens hook points shares: the tokenizer and its chat
    template, hooks by site (:func:`hook_point`) on ``self.tl`` (anything with TransformerLens'
    ``hooks(fwd_hooks=...)`` and ``hook_dict``), and the architecture numbers.

    Args:
        name: the model's name in configs and artifacts.
        tl_model: the underlying model (kept in eval mode, gradients off).
        tokenizer: a Hugging Face tokenizer with a chat template.
        stop_token_ids: tokens that end a reply (end of turn, end of text).
    """

    source: dict[str, Any] | None = None
    """Where the weights came from, for the run manifest (e.g. a GGUF file's path and sha256)."""

    def __init__(self, name: str, tl_model: Any, tokenizer: Any, stop_token_ids: Sequence[int]):
        self.name = name
        self.tl = tl_model.eval()
        self.tokenizer = tokenizer
        self.stop_token_ids = tuple(int(t) for t in stop_token_ids)
        pad = tokenizer.pad_token_id
        self.pad_token_id = int(pad if pad is not None else self.stop_token_ids[0])
        cfg = tl_model.cfg
        self.info = ModelInfo(
            name=name,
            n_layers=cfg.n_layers,
            n_heads=cfg.n_heads,
            d_model=cfg.d_model,
            d_head=cfg.d_head,
            d_mlp=cfg.d_mlp,
            d_vocab=cfg.d_vocab,
            n_ctx=cfg.n_ctx,
        )
        for p in self.tl.parameters():
            p.requires_grad_(False)

    # --- text ---------------------------------------------------------------------------------
    def render_chat(self, messages: Sequence[dict[str, str]], add_generation_prompt: bool = True) -> str:
        """The chat-template rendering of ``messages`` (a list of ``{"role", "content"}``)."""
        return self.tokenizer.apply_chat_template(
            list(messages), tokenize=False, add_generation_prompt=add_generation_prompt
        )

    def token_ids(self, text: str) -> list[int]:
        """Token ids of ``text`` as written (no special tokens added: templates carry them)."""
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def encode(self, texts: Sequence[str]) -> TokenBatch:
        """Tokenize and left-pad a batch of prompts."""
        return self.pad([self.token_ids(t) for t in texts])

    def pad(self, sequences: Sequence[Sequence[int]]) -> TokenBatch:
        """Left-pad token-id lists into a :class:`TokenBatch`."""
        width = max(len(s) for s in sequences)
        if width > self.info.n_ctx:
            raise UserError(
                f"a prompt of {width} tokens exceeds {self.name}'s context of {self.info.n_ctx}: "
                "shorten the prompts or use a model with a longer context"
            )
        tokens = torch.full((len(sequences), width), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(sequences), width), dtype=torch.long)
        for i, s in enumerate(sequences):
            if len(s):
                tokens[i, width - len(s) :] = torch.tensor(list(s), dtype=torch.long)
                mask[i, width - len(s) :] = 1
        return TokenBatch(tokens.to(self.device), mask.to(self.device))

    def decode(self, ids: Sequence[int]) -> str:
        return self.tokenizer.decode(list(ids), skip_special_tokens=True)

    def str_tokens(self, text: str) -> list[str]:
        """The tokens of ``text`` as strings, for views."""
        return [self.tokenizer.decode([i]) for i in self.token_ids(text)]

    # --- compute ------------------------------------------------------------------------------
    @property
    def has_mlp(self) -> bool:
        return not self.tl.cfg.attn_only

    def after_attention(self, layer: int) -> ResidSite:
        """The residual right after layer ``layer``'s attention (``resid_post`` in attention-only models)."""
        return ResidSite(layer, ReadOut.RESID_MID if self.has_mlp else ReadOut.RESID_POST)

    @property
    def device(self) -> torch.device:
        return self.tl.W_E.device if hasattr(self.tl, "W_E") else next(self.tl.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return self.tl.W_E.dtype if hasattr(self.tl, "W_E") else next(self.tl.parameters()).dtype

    def last_logits(
        self,
        tokens: Int[Tensor, "batch pos"],
        attention_mask: Int[Tensor, "batch pos"],
        kv_cache: KVCache | None = None,
    ) -> Float[Tensor, "batch d_vocab"]:
        """Logits at the last position only: the unembedding is applied to one position, which
        saves most of a prefill's memory and time for large vocabularies."""
        return self.tail_logits(tokens, attention_mask, 1, kv_cache)[:, 0, :]

    @contextlib.contextmanager
    def hooks(self, hooks: Sequence[tuple[Site, HookFn]]) -> Iterator[HookPointBackend]:
        """Attach ``hooks`` for the duration of the block; they are removed even if it raises.

        Contexts nest: an inner context removes only its own hooks.
        """
        fwd = [(hook_point(site), _SiteHook(fn)) for site, fn in hooks]
        with self.tl.hooks(fwd_hooks=fwd):
            yield self

    def n_active_hooks(self) -> int:
        """How many forward hooks are attached right now (0 between interventions)."""
        unique = {id(hp): hp for hp in self.tl.hook_dict.values()}  # the bridge lists a hook point under aliases too
        return sum(len(hp.fwd_hooks) for hp in unique.values())


class TLBackend(HookPointBackend):
    """A ``HookedTransformer`` as a :class:`~circuits.model.backend.Backend` (the arguments of
    :class:`HookPointBackend`), with its fast paths: prefix caches and the fast decoding cache."""

    def __init__(self, name: str, tl_model: Any, tokenizer: Any, stop_token_ids: Sequence[int]):
        super().__init__(name, tl_model, tokenizer, stop_token_ids)
        self.supports_prefix_cache = True
        optimize_layout(self.tl)
        fuse_activations(self.tl)
        from circuits.model.fast_decode import fast_decoding_supported, install_fast_attention

        # Incremental decoding skips TransformerLens' per-step copying where the model allows it.
        self.fast_decoding = fast_decoding_supported(self.tl)
        if self.fast_decoding:
            install_fast_attention(self.tl)

    def forward(
        self,
        tokens: Int[Tensor, "batch pos"],
        attention_mask: Int[Tensor, "batch pos"],
        kv_cache: KVCache | None = None,
        stop_at_layer: int | None = None,
    ) -> Float[Tensor, "batch pos d_vocab"]:
        """Logits for a left-padded batch (or the residual before block ``stop_at_layer``).

        With a ``kv_cache`` (from :meth:`new_kv_cache`), ``tokens`` are the new tokens only and
        ``attention_mask`` is their own mask; the cache keeps the rest.
        """
        return self.tl(
            tokens,
            attention_mask=attention_mask,
            past_kv_cache=kv_cache,
            stop_at_layer=stop_at_layer,
            return_type="logits",
        )

    def tail_logits(
        self,
        tokens: Int[Tensor, "batch pos"],
        attention_mask: Int[Tensor, "batch pos"],
        k: int,
        kv_cache: KVCache | None = None,
    ) -> Float[Tensor, "batch k d_vocab"]:
        """Logits at the last ``k`` positions only (the final norm and the unembedding run on
        those positions): what scoring a reply at the end of a left-padded batch needs."""
        n = self.info.n_layers
        resid = self.tl(tokens, attention_mask=attention_mask, past_kv_cache=kv_cache, stop_at_layer=n)
        tail = resid[:, -k:, :]
        if self.tl.cfg.normalization_type is not None:
            tail = self.tl.ln_final(tail)
        logits = self.tl.unembed(tail)
        cap = getattr(self.tl.cfg, "output_logits_soft_cap", 0.0) or 0.0
        return cap * torch.tanh(logits / cap) if cap > 0 else logits

    def run_until(
        self,
        site: Site,
        attention_mask: Int[Tensor, "batch pos"],
        tokens: Int[Tensor, "batch pos"] | None = None,
        resid: Float[Tensor, "batch pos d_model"] | None = None,
        start_layer: int = 0,
        kv_cache: KVCache | None = None,
    ) -> Tensor:
        """Run from the tokens (or from ``resid`` entering block ``start_layer``) and return the
        activation at ``site``, skipping everything after it (hooks attached around this call
        apply).

        With a ``kv_cache`` (from :meth:`prefix_cache`), the tokens or ``resid`` are the positions
        that follow the cached prefix and ``attention_mask`` is their own mask.
        """
        rec = Record(detach=False, stop=True)
        try:
            with self.hooks([(site, rec)]):
                if resid is None:
                    self.tl(tokens, attention_mask=attention_mask, past_kv_cache=kv_cache, return_type=None)
                else:
                    if kv_cache is not None:
                        # Started mid-model, TransformerLens wants the whole (prefix + new) mask.
                        attention_mask = torch.cat(
                            [kv_cache.previous_attention_mask.to(attention_mask), attention_mask], dim=1)
                    self.tl(resid, start_at_layer=start_layer, attention_mask=attention_mask,
                            past_kv_cache=kv_cache, return_type=None)
        except StopForward:
            pass
        if rec.value is None:
            raise RuntimeError(f"the forward pass never reached {site}")
        return rec.value

    @torch.inference_mode()
    def prefix_cache(self, tokens: Int[Tensor, "batch pos"], attention_mask: Int[Tensor, "batch pos"]) -> KVCache:
        """The keys and values of every layer over a left-padded prefix, frozen: later passes
        over the positions that follow it read the cache and never extend it, so one prefix
        serves many continuations (TransformerLens' own cache, so every hook behaves as in a
        plain forward)."""
        from transformer_lens.cache.key_value_cache import TransformerLensKeyValueCache

        cache = TransformerLensKeyValueCache.init_cache(self.tl.cfg, self.device, tokens.shape[0])
        self.tl(tokens, attention_mask=attention_mask, past_kv_cache=cache, stop_at_layer=self.info.n_layers)
        cache.freeze()
        return cache

    @torch.inference_mode()
    def prefix_logits(self, tokens: Int[Tensor, "batch pos"], attention_mask: Int[Tensor, "batch pos"]
                      ) -> tuple[Float[Tensor, "batch d_vocab"], KVCache]:
        """The logits at a left-padded prefix's last position and its frozen key-value cache
        (:meth:`prefix_cache`): scoring continuations of one prefix costs only their own tokens."""
        from transformer_lens.cache.key_value_cache import TransformerLensKeyValueCache

        cache = TransformerLensKeyValueCache.init_cache(self.tl.cfg, self.device, tokens.shape[0])
        logits = self.last_logits(tokens, attention_mask, cache)
        cache.freeze()
        return logits, cache

    @staticmethod
    def cache_rows(cache: KVCache, rows: Int[Tensor, " selected"]) -> KVCache:
        """A frozen prefix cache of the rows ``rows`` of ``cache`` (repeats allowed): one prefix
        row can start several continuations."""
        from transformer_lens.cache.key_value_cache import TransformerLensKeyValueCache
        from transformer_lens.cache.key_value_cache_entry import TransformerLensKeyValueCacheEntry

        entries = [TransformerLensKeyValueCacheEntry(e.past_keys[rows], e.past_values[rows], frozen=True)
                   for e in cache.entries]
        return TransformerLensKeyValueCache(entries, cache.previous_attention_mask[rows], frozen=True)

    @staticmethod
    def repeat_cache(cache: KVCache, copies: int, layers: Sequence[int] | None = None) -> KVCache:
        """``cache`` for a batch of ``copies`` stacked copies of its rows (copy k is rows
        ``k*B .. (k+1)*B``, as ``Tensor.repeat``), frozen. With ``layers``, only those layers'
        entries are copied and the others are left out (a pass through them fails loudly)."""
        from transformer_lens.cache.key_value_cache import TransformerLensKeyValueCache
        from transformer_lens.cache.key_value_cache_entry import TransformerLensKeyValueCacheEntry

        keep = range(len(cache.entries)) if layers is None else set(layers)
        entries = [TransformerLensKeyValueCacheEntry(e.past_keys.repeat(copies, 1, 1, 1),
                                                     e.past_values.repeat(copies, 1, 1, 1), frozen=True)
                   if i in keep else None
                   for i, e in enumerate(cache.entries)]
        return TransformerLensKeyValueCache(entries, cache.previous_attention_mask.repeat(copies, 1), frozen=True)

    def new_kv_cache(self, batch_size: int) -> KVCache:
        """An empty key-value cache for incremental decoding of ``batch_size`` rows: the fast
        cache of :mod:`circuits.model.fast_decode` when the model supports it, else
        TransformerLens' own."""
        if self.fast_decoding:
            from circuits.model.fast_decode import new_fast_cache

            return new_fast_cache(self.tl, batch_size)
        from transformer_lens.cache.key_value_cache import TransformerLensKeyValueCache

        return TransformerLensKeyValueCache.init_cache(self.tl.cfg, self.device, batch_size)

    @staticmethod
    def keep_rows(cache: KVCache, rows: Int[Tensor, " kept"]) -> None:
        """Shrink a decoding cache to the batch rows ``rows`` (the others' replies have ended)."""
        from circuits.model.fast_decode import FastKVCache

        if isinstance(cache, FastKVCache):
            cache.keep_rows(rows)
            return
        for entry in cache.entries:
            entry.past_keys, entry.past_values = entry.past_keys[rows], entry.past_values[rows]
        cache.previous_attention_mask = cache.previous_attention_mask[rows]

    # --- weights ------------------------------------------------------------------------------
    def mlp_out_weight(self, site: NeuronsSite) -> Float[Tensor, "d_mlp d_model"]:
        """``W_out`` of the layer's MLP: hidden activation -> residual."""
        return self.tl.blocks[site.layer].mlp.W_out

    def mlp_out_bias(self, site: NeuronsSite) -> Float[Tensor, " d_model"]:
        return self.tl.blocks[site.layer].mlp.b_out

    def attn_out_weight(self, site: HeadsSite) -> Float[Tensor, "head d_head d_model"]:
        """``W_O`` of the layer's attention: per-head z -> residual."""
        return self.tl.blocks[site.layer].attn.W_O

    def attn_out_bias(self, site: HeadsSite) -> Float[Tensor, " d_model"]:
        return self.tl.blocks[site.layer].attn.b_O

    def __repr__(self) -> str:
        i = self.info
        return (
            f"TLBackend({i.name!r}, layers={i.n_layers}, heads={i.n_heads}, d_model={i.d_model}, "
            f"d_mlp={i.d_mlp}, vocab={i.d_vocab})"
        )


END_OF_TURN_TOKENS = ("<|eot_id|>", "<|im_end|>", "<end_of_turn>", "<|end|>", "<|endoftext|>")


def stop_token_ids(tokenizer) -> list[int]:
    """The tokenizer's end-of-text token plus whichever common end-of-turn tokens it has."""
    vocab = tokenizer.get_vocab()
    ids = [tokenizer.eos_token_id] + [vocab[t] for t in END_OF_TURN_TOKENS if t in vocab]
    return sorted({int(i) for i in ids if i is not None})
