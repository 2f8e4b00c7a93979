"""The TransformerBridge backend: TransformerLens' ``TransformerBridge`` (the native Hugging Face
model with TransformerLens hook points) behind the :class:`~circuits.model.backend.Backend`
interface.

``TransformerBridge`` is what TransformerLens 4 keeps after removing ``HookedTransformer``; it
already ships in 3.9. In compatibility mode without weight processing its hook names, shapes and
values match a ``HookedTransformer`` loaded with ``from_pretrained_no_processing``, so every site
of :mod:`circuits.sites` maps to the same hook point (:func:`~circuits.model.hooked.hook_point`)
and the analyses read the same numbers (``tests/model/test_bridge.py`` checks it).

What differs, and how this backend handles it:

- The forward pass is Hugging Face's, so there is no ``start_at_layer``. :meth:`BridgeBackend.run_until`
  from a residual runs the whole model and replaces the residual entering the start layer with a
  hook: exact, at the cost of the layers before it.
- Key-value caches are Hugging Face's ``DynamicCache`` (:class:`BridgeKVCache` keeps the mask of
  the cached positions beside it), so incremental decoding works; the frozen prefix caches of the
  head sweep and of perplexity scoring do not exist (``supports_prefix_cache`` is False) and those
  paths fall back to plain passes.
- Llama-style models have no output biases: :meth:`mlp_out_bias` and :meth:`attn_out_bias` are zeros.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import torch
from jaxtyping import Float, Int
from torch import Tensor

from circuits.model.backend import KVCache, Record, StopForward
from circuits.model.hooked import HookPointBackend
from circuits.sites import HeadsSite, NeuronsSite, Site, entering

log = logging.getLogger(__name__)


class BridgeKVCache:
    """A Hugging Face ``DynamicCache`` and the attention mask of the positions it holds."""

    def __init__(self, past: Any, batch_size: int, device: torch.device) -> None:
        self.past = past
        self.previous_attention_mask = torch.zeros((batch_size, 0), dtype=torch.long, device=device)


def _dynamic_cache(config: Any) -> Any:
    from transformers import DynamicCache

    try:
        return DynamicCache(config=config)
    except TypeError:  # transformers releases whose DynamicCache takes no config
        return DynamicCache()


def _prefix_caches_unavailable(what: str) -> NotImplementedError:
    return NotImplementedError(
        f"{what} needs frozen prefix caches, which the bridge backend does not have "
        "(supports_prefix_cache is False): callers take the plain path instead"
    )


class BridgeBackend(HookPointBackend):
    """A ``TransformerBridge`` in compatibility mode (no weight processing) as a
    :class:`~circuits.model.backend.Backend` (the arguments of :class:`HookPointBackend`)."""

    def __init__(self, name: str, bridge: Any, tokenizer: Any, stop_token_ids: Sequence[int]):
        super().__init__(name, bridge, tokenizer, stop_token_ids)
        self.supports_prefix_cache = False
        self.fast_decoding = False
        # A padding query attends to no key; the bridge zeroes its pattern in the forward pass,
        # but the softmax's backward pass still gives NaN there, and it spreads to every position.
        self.padded_backward_ok = False
        log.info("%s on the bridge backend: no frozen prefix caches, so the same-layer head sweep and "
                 "perplexity scoring take their plain paths; passes that start mid-model run from the "
                 "embedding and replace the residual", name)

    @property
    def has_mlp(self) -> bool:
        return not getattr(self.tl.cfg, "attn_only", False)

    def forward(
        self,
        tokens: Int[Tensor, "batch pos"],
        attention_mask: Int[Tensor, "batch pos"],
        kv_cache: KVCache | None = None,
        stop_at_layer: int | None = None,
    ) -> Float[Tensor, "batch pos d_vocab"]:
        """Logits for a left-padded batch (or the residual before block ``stop_at_layer``).

        With a ``kv_cache`` (from :meth:`new_kv_cache`), ``tokens`` are the new tokens only and
        ``attention_mask`` is their own mask; the cache keeps the rest and grows by them.
        """
        if kv_cache is None:
            return self.tl(tokens, attention_mask=attention_mask, stop_at_layer=stop_at_layer, return_type="logits")
        if stop_at_layer is not None:
            raise NotImplementedError("the bridge backend cannot stop early while extending a key-value cache")
        mask = torch.cat([kv_cache.previous_attention_mask.to(attention_mask), attention_mask], dim=1)
        logits = self.tl(tokens, attention_mask=mask, past_key_values=kv_cache.past, use_cache=True,
                         return_type="logits")
        kv_cache.previous_attention_mask = mask
        return logits

    def tail_logits(
        self,
        tokens: Int[Tensor, "batch pos"],
        attention_mask: Int[Tensor, "batch pos"],
        k: int,
        kv_cache: KVCache | None = None,
    ) -> Float[Tensor, "batch k d_vocab"]:
        """Logits at the last ``k`` positions."""
        return self.forward(tokens, attention_mask, kv_cache)[:, -k:, :]

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

        From a residual, the pass starts at the embedding of padding tokens and the residual
        entering ``start_layer`` is replaced by ``resid``: what the layers before compute is
        discarded, so the result is the one a pass started at that layer gives.
        """
        if kv_cache is not None:
            raise _prefix_caches_unavailable("run_until(kv_cache=...)")
        rec = Record(detach=False, stop=True)
        hooks: list[tuple[Site, Any]] = [(site, rec)]
        if resid is not None:
            tokens = torch.full(resid.shape[:2], self.pad_token_id, dtype=torch.long, device=resid.device)
            hooks.insert(0, (entering(start_layer), lambda _: resid))
        try:
            with self.hooks(hooks):
                self.tl(tokens, attention_mask=attention_mask, return_type=None)
        except StopForward:
            pass
        if rec.value is None:
            raise RuntimeError(f"the forward pass never reached {site}")
        return rec.value

    def prefix_cache(self, tokens: Tensor, attention_mask: Tensor) -> KVCache:
        raise _prefix_caches_unavailable("prefix_cache")

    def prefix_logits(self, tokens: Tensor, attention_mask: Tensor) -> tuple[Tensor, KVCache]:
        raise _prefix_caches_unavailable("prefix_logits")

    def repeat_cache(self, cache: KVCache, copies: int, layers: Sequence[int] | None = None) -> KVCache:
        raise _prefix_caches_unavailable("repeat_cache")

    def cache_rows(self, cache: KVCache, rows: Tensor) -> KVCache:
        raise _prefix_caches_unavailable("cache_rows")

    def new_kv_cache(self, batch_size: int) -> BridgeKVCache:
        """An empty Hugging Face ``DynamicCache`` for incremental decoding of ``batch_size`` rows."""
        return BridgeKVCache(_dynamic_cache(self.tl.original_model.config), batch_size, self.device)

    @staticmethod
    def keep_rows(cache: BridgeKVCache, rows: Int[Tensor, " kept"]) -> None:
        """Shrink a decoding cache to the batch rows ``rows`` (the others' replies have ended)."""
        cache.past.batch_select_indices(rows)
        cache.previous_attention_mask = cache.previous_attention_mask[rows]

    # --- weights ------------------------------------------------------------------------------
    def mlp_out_weight(self, site: NeuronsSite) -> Float[Tensor, "d_mlp d_model"]:
        """``W_out`` of the layer's MLP: hidden activation -> residual."""
        return self.tl.blocks[site.layer].mlp.W_out

    def mlp_out_bias(self, site: NeuronsSite) -> Float[Tensor, " d_model"]:
        return self._bias_or_zeros(self.tl.blocks[site.layer].mlp, "b_out")

    def attn_out_weight(self, site: HeadsSite) -> Float[Tensor, "head d_head d_model"]:
        """``W_O`` of the layer's attention: per-head z -> residual."""
        return self.tl.blocks[site.layer].attn.W_O

    def attn_out_bias(self, site: HeadsSite) -> Float[Tensor, " d_model"]:
        return self._bias_or_zeros(self.tl.blocks[site.layer].attn, "b_O")

    def _bias_or_zeros(self, module: Any, name: str) -> Tensor:
        bias = getattr(module, name, None)
        if bias is None:
            return torch.zeros(self.info.d_model, dtype=self.dtype, device=self.device)
        return bias

    def __repr__(self) -> str:
        i = self.info
        return (
            f"BridgeBackend({i.name!r}, layers={i.n_layers}, heads={i.n_heads}, d_model={i.d_model}, "
            f"d_mlp={i.d_mlp}, vocab={i.d_vocab})"
        )


def bridge_from_hf(hf_model: Any, tokenizer: Any, name: str, dtype: torch.dtype = torch.float32) -> Any:
    """A ``TransformerBridge`` around an already loaded Hugging Face causal LM, in compatibility
    mode with no weight processing (HookedTransformer's hook names and shapes, the model's own
    values). Nothing is downloaded: the config comes from ``hf_model``."""
    from transformer_lens.model_bridge import TransformerBridge

    bridge = TransformerBridge.boot_transformers(name, hf_model=hf_model, tokenizer=tokenizer, dtype=dtype)
    bridge.enable_compatibility_mode(disable_warnings=True, no_processing=True)
    _pass_the_cache_on(bridge)
    return bridge


def _pass_the_cache_on(bridge: Any) -> None:
    """Make the bridge's attention write to the key-value cache under ``transformers`` >= 5.2x.

    Newer ``transformers`` hand the cache to each attention module as ``cache=`` (``past_key_values``
    is deprecated); the bridge's attention (TransformerLens 3.9 to 4.3 at least) looks only for
    ``past_key_values`` or ``layer_past``, finds nothing, and silently skips the cache, so every
    decoding step attends to itself alone. This hands ``cache`` on under the name the bridge reads;
    where a release already reads it, nothing changes. ``tests/model/test_bridge.py`` checks
    incremental decoding against a full pass.
    """
    for module in bridge.modules():
        update = getattr(module, "_update_kv_cache", None)
        if update is None or getattr(update, "passes_cache_on", False):
            continue

        def update_with_cache(k: Tensor, v: Tensor, _update: Any = update, **kwargs: Any) -> tuple[Tensor, Tensor]:
            if kwargs.get("past_key_values") is None and kwargs.get("cache") is not None:
                kwargs["past_key_values"] = kwargs["cache"]
            return _update(k, v, **kwargs)

        update_with_cache.passes_cache_on = True  # type: ignore[attr-defined]
        module._update_kv_cache = update_with_cache
