"""A faster key-value cache and attention path for incremental decoding, hooks intact.

Why this exists
---------------
TransformerLens' attention is written for clarity and for analysing one forward pass over a
whole prompt. Used for token-by-token generation, every layer of every decoding step redoes
work that only depends on the past:

1. keys are cached *unrotated*, so rotary embeddings are re-applied to the whole cached key
   sequence at every step (the rotation of position 7 is the same at step 1 and at step 40);
2. with grouped-query attention (GQA) the cached keys and values are ``repeat_interleave``-d
   from ``n_key_value_heads`` to ``n_heads`` heads, i.e. copied ``n_heads / n_kv_heads`` times;
3. ``einops.rearrange`` turns them into fresh contiguous ``[batch, head, pos, d_head]`` copies
   for the two matrix products;
4. the cache itself grows by ``torch.cat``, which copies all of it again.

For a small model such as SmolLM2-135M this copying, not the matrix products, dominates a
decoding step. This module removes it while leaving the model's computation and every hook
point as they were.

What it does
------------
:class:`FastKVCache` keeps, per layer, preallocated buffers laid out ``[batch, kv_head, pos,
d_head]`` (the layout the matrix products want) and stores keys *already rotated*. A new token
is rotated once, written into the next free slot, and attended to from then on with no copy.
Rotation is a pure function of (vector, position id), and a key's position id only depends on
the attention mask up to its own position, so rotating at insertion time gives bit-identical
keys to TransformerLens' rotate-everything-every-step.

Grouped-query attention is computed without materialising repeated heads: TransformerLens maps
query head ``h`` to key-value head ``h // group``, so the queries are reshaped to ``[batch,
kv_head, group * q_pos, d_head]`` and multiplied against the unrepeated cache. The resulting
scores are a free view with TransformerLens' ``[batch, head, q_pos, k_pos]`` shape. The products
are batched differently from TransformerLens', so scores and everything after them may differ in
the last bits of float rounding (about 1e-6 on logits); masks, scaling, softmax and the output
projection are TransformerLens' own operations.

Learned absolute position embeddings (``positional_embedding_type="standard"``) need nothing
here: ``HookedTransformer`` adds them before the first block, from the cache's length and the
attention mask, so they only need :attr:`FastKVCacheEntry.past_keys` to report that length.

:func:`install_fast_attention` swaps each block's attention module to a dynamic subclass whose
``forward`` takes the fast path only when it receives a :class:`FastKVCacheEntry`; with no
cache, or with TransformerLens' own cache, the original ``forward`` runs unchanged. So analysis
passes, ``run_with_cache`` and TransformerLens' ``generate`` are untouched, and only callers that
ask for a fast cache (:func:`new_fast_cache`) get the new path.

Hook points
-----------
Every hook point fires with TransformerLens' shapes and meaning: ``hook_q/k/v`` on the new
tokens (through the module's own ``calculate_qkv_matrices``), ``hook_rot_q`` on the new rotated
queries, ``hook_rot_k`` on the *whole* rotated key sequence (as TransformerLens, which rotates
the whole cache each step, does; a hook there gets a private copy, so editing it in place never
edits the cache), ``hook_attn_scores`` and ``hook_pattern`` as ``[batch, head, q_pos, k_pos]``,
``hook_z`` as ``[batch, q_pos, head, d_head]``.

Configurations this path does not reproduce (ALiBi, local attention, soft caps, QK norm, split
QKV inputs, per-head results, attention sinks, ...) are refused by
:func:`fast_decoding_supported`, and the caller keeps TransformerLens' cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from jaxtyping import Float, Int
from torch import Tensor

_FAST_CLASSES: dict[type, type] = {}
"""Original attention class -> its fast subclass (one subclass per class, shared by layers)."""

_HEADROOM = 64
"""Positions allocated beyond the prompt at first, and the granularity of buffer sizes."""

_UNSUPPORTED_ARCHITECTURES = ("OlmoeForCausalLM", "Olmo2ForCausalLM", "Olmo3ForCausalLM")
"""Architectures whose attention ``forward`` adds steps of its own (full-vector QK norms)."""


# --- the cache -----------------------------------------------------------------------------------


@dataclass
class _StepMasks:
    """What every layer of one forward call shares: computed by the first layer, reused by the
    others (they all see the same attention mask and the same number of cached positions)."""

    attention_mask: Tensor | None
    """The full ``[batch, pos_so_far + new]`` mask of this call (kept as the lookup key)."""
    offset: int
    q_len: int
    position_ids: Int[Tensor, "batch q_pos"]
    """Rotary position of each new token, exactly as ``get_offset_position_ids`` computes it."""
    keep: Tensor
    """Bool ``[batch, 1, q_pos, k_pos]``: causal and not padding (``apply_causal_mask``'s mask)."""


class FastKVCacheEntry:
    """One layer's cache: rotated keys and values in preallocated ``[batch, kv_head, pos, d_head]``
    buffers, of which the first :attr:`length` positions are filled.

    Buffers are allocated on the first append (so they take the dtype, device and inference mode
    of the forward pass that fills them) and grow by doubling when full.
    """

    def __init__(self, owner: FastKVCache, batch_size: int, n_kv_heads: int, d_head: int, capacity_hint: int):
        self.owner = owner
        self.batch_size = batch_size
        self.n_kv_heads = n_kv_heads
        self.d_head = d_head
        self.capacity_hint = capacity_hint
        self.keys: Tensor | None = None
        self.values: Tensor | None = None
        self.length = 0
        self.frozen = False

    @property
    def past_keys(self) -> Float[Tensor, "batch pos_so_far kv_head d_head"]:
        """The cached (rotated) keys in TransformerLens' cache layout (a view, no copy):
        ``HookedTransformer.get_pos_offset`` reads its shape to find how many positions are cached."""
        if self.keys is None:
            return torch.empty((self.batch_size, 0, self.n_kv_heads, self.d_head))
        return self.keys[:, :, : self.length].transpose(1, 2)

    @property
    def past_values(self) -> Float[Tensor, "batch pos_so_far kv_head d_head"]:
        if self.values is None:
            return torch.empty((self.batch_size, 0, self.n_kv_heads, self.d_head))
        return self.values[:, :, : self.length].transpose(1, 2)

    def _reserve(self, needed: int, like: Tensor) -> None:
        """Make room for ``needed`` positions, keeping what is cached."""
        keys, values = self.keys, self.values
        # A buffer made under ``torch.inference_mode`` cannot be written outside it: re-make it
        # as a normal tensor if the cache moves to a forward pass run with autograd tracking.
        stale = keys is not None and keys.is_inference() and not torch.is_inference_mode_enabled()
        if keys is not None and values is not None and keys.shape[2] >= needed and not stale:
            return
        # The first allocation leaves room for a typical reply; later ones double, so that
        # growing to n positions costs O(n) copying in all.
        if keys is None:
            wanted = needed + _HEADROOM
        elif keys.shape[2] >= needed:
            wanted = keys.shape[2]  # big enough, only re-made outside inference mode
        else:
            wanted = 2 * needed
        capacity = -(-max(self.capacity_hint, wanted) // _HEADROOM) * _HEADROOM
        shape = (self.batch_size, self.n_kv_heads, capacity, self.d_head)
        new_keys = torch.empty(shape, dtype=like.dtype, device=like.device)
        new_values = torch.empty(shape, dtype=like.dtype, device=like.device)
        if keys is not None and values is not None and self.length:
            new_keys[:, :, : self.length] = keys[:, :, : self.length]
            new_values[:, :, : self.length] = values[:, :, : self.length]
        self.keys, self.values = new_keys, new_values

    def append(
        self,
        new_keys: Float[Tensor, "batch new kv_head d_head"],
        new_values: Float[Tensor, "batch new kv_head d_head"],
    ) -> tuple[Float[Tensor, "batch kv_head pos d_head"], Float[Tensor, "batch kv_head pos d_head"]]:
        """Write the new (rotated) keys and values after the cached ones and return views of all
        of them. A frozen entry writes into the free slots without counting them, so the next
        call overwrites them: the same contract as TransformerLens' frozen cache."""
        n = new_keys.shape[1]
        end = self.length + n
        self._reserve(end, new_keys)
        assert self.keys is not None and self.values is not None
        self.keys[:, :, self.length : end] = new_keys.transpose(1, 2)
        self.values[:, :, self.length : end] = new_values.transpose(1, 2)
        if not self.frozen:
            self.length = end
        return self.keys[:, :, :end], self.values[:, :, :end]


class FastKVCache:
    """A drop-in for ``TransformerLensKeyValueCache`` that only the fast attention path reads.

    ``HookedTransformer.forward`` uses a cache through three things, all provided here:
    :meth:`append_attention_mask` (it keeps the padding mask of every cached position),
    ``cache[layer]`` (the entry it hands to each block) and ``cache[0].past_keys.shape`` (the
    number of cached positions, which is also the offset of learned absolute position embeddings).
    """

    def __init__(
        self, n_layers: int, batch_size: int, n_kv_heads: int, d_head: int, device: torch.device, capacity_hint: int = 0
    ):
        self.entries = [FastKVCacheEntry(self, batch_size, n_kv_heads, d_head, capacity_hint) for _ in range(n_layers)]
        self.previous_attention_mask: Int[Tensor, "batch pos_so_far"] = torch.empty(
            (batch_size, 0), device=device, dtype=torch.int
        )
        self.frozen = False
        self._step: _StepMasks | None = None

    def freeze(self) -> None:
        self.frozen = True
        for entry in self.entries:
            entry.frozen = True

    def unfreeze(self) -> None:
        self.frozen = False
        for entry in self.entries:
            entry.frozen = False

    def append_attention_mask(self, attention_mask: Int[Tensor, "batch new"]) -> Int[Tensor, "batch pos"]:
        attention_mask = attention_mask.to(self.previous_attention_mask.device)
        updated = torch.cat([self.previous_attention_mask, attention_mask], dim=-1)
        if not self.frozen:
            self.previous_attention_mask = updated
        return updated

    def keep_rows(self, rows: Int[Tensor, " kept"]) -> None:
        """Keep only the batch rows ``rows`` (in that order): rows whose reply has ended stop
        costing a decoding step. Each row's cached keys and values are kept as they are."""
        for entry in self.entries:
            entry.batch_size = len(rows)
            if entry.keys is not None and entry.values is not None:
                entry.keys, entry.values = entry.keys[rows], entry.values[rows]
        self.previous_attention_mask = self.previous_attention_mask[rows]
        self._step = None

    def __getitem__(self, layer: int) -> FastKVCacheEntry:
        return self.entries[layer]

    def __len__(self) -> int:
        return len(self.entries)

    def step_masks(self, attention_mask: Tensor | None, offset: int, q_len: int, device: torch.device) -> _StepMasks:
        """Position ids and the causal-and-padding mask of this forward call, computed once.

        The lookup key is the mask tensor object itself (held here, so its identity cannot be
        reused by another tensor) with the offset and the number of new tokens.
        """
        step = self._step
        if step is not None and step.attention_mask is attention_mask and step.offset == offset and step.q_len == q_len:
            return step
        k_len = offset + q_len
        query_pos = torch.arange(offset, k_len, device=device)
        causal = torch.arange(k_len, device=device)[None, :] <= query_pos[:, None]
        if attention_mask is None:
            position_ids = query_pos[None, :].expand(self.entries[0].batch_size, q_len)
            keep = causal[None, None]
        else:
            from transformer_lens.utilities import get_offset_position_ids

            position_ids = get_offset_position_ids(offset, attention_mask)
            keep = causal[None, None] & attention_mask[:, None, None, :].bool()
        self._step = _StepMasks(attention_mask, offset, q_len, position_ids, keep)
        return self._step


# --- support check and installation ---------------------------------------------------------------


def fast_decoding_supported(tl_model: Any) -> bool:
    """True when the fast path computes exactly what TransformerLens' attention computes.

    Anything that adds a step this module does not reproduce is refused: the caller then keeps
    TransformerLens' own cache, which is always correct.
    """
    from transformer_lens.components import AbstractAttention, TransformerBlock
    from transformer_lens.components.grouped_query_attention import GroupedQueryAttention
    from transformer_lens.utilities.activation_functions import softcap_enabled

    cfg = tl_model.cfg
    refused = (
        cfg.positional_embedding_type not in ("rotary", "standard"),
        cfg.attention_dir != "causal",
        getattr(cfg, "n_devices", 1) != 1,
        getattr(cfg, "load_in_4bit", False),
        getattr(cfg, "use_attn_result", False),
        getattr(cfg, "use_split_qkv_input", False),
        getattr(cfg, "use_attn_in", False),
        getattr(cfg, "use_qk_norm", False),
        getattr(cfg, "clip_qkv", None) is not None,
        getattr(cfg, "use_logn_attn", False),
        getattr(cfg, "use_dynamic_ntk_rope", False),
        getattr(cfg, "use_attention_sinks", False),
        getattr(cfg, "ungroup_grouped_query_attention", False),
        softcap_enabled(getattr(cfg, "attn_scores_soft_cap", None)),
        cfg.original_architecture in _UNSUPPORTED_ARCHITECTURES,
        cfg.n_key_value_heads is not None and cfg.n_heads % cfg.n_key_value_heads != 0,
    )
    if any(refused):
        return False
    own_math = {
        AbstractAttention.calculate_attention_scores,
        AbstractAttention.calculate_z_scores,
        GroupedQueryAttention.calculate_attention_scores,
        GroupedQueryAttention.calculate_z_scores,
    }
    for block in getattr(tl_model, "blocks", ()):
        attn = getattr(block, "attn", None)
        if type(block).forward is not TransformerBlock.forward or not isinstance(attn, AbstractAttention):
            return False
        # Subclasses that change the attention arithmetic (T5, BERT, ...) are not ours to redo.
        base = getattr(type(attn), "_tl_class", type(attn))
        if base.forward is not AbstractAttention.forward:
            return False
        if base.calculate_attention_scores not in own_math or base.calculate_z_scores not in own_math:
            return False
        if attn.attn_type != "global" or getattr(attn, "_attention_dir_override", None) not in (None, "causal"):
            return False
        if getattr(attn, "q_norm", None) is not None or getattr(attn, "k_norm", None) is not None:
            return False
    return bool(getattr(tl_model, "blocks", ()))


def install_fast_attention(tl_model: Any) -> None:
    """Give every attention module the fast path (idempotent; raises if unsupported).

    The module keeps its parameters, buffers and hook points: only its class changes, to a
    subclass whose ``forward`` dispatches on the cache entry it receives.
    """
    if not fast_decoding_supported(tl_model):
        raise ValueError("this model's attention is not supported by the fast decoding path")
    for block in tl_model.blocks:
        attn = block.attn
        if hasattr(type(attn), "_tl_class"):
            continue
        cls = type(attn)
        fast = _FAST_CLASSES.get(cls)
        if fast is None:
            fast = _fast_subclass(cls)
            _FAST_CLASSES[cls] = fast
        attn.__class__ = fast


def new_fast_cache(tl_model: Any, batch_size: int, capacity_hint: int = 0) -> FastKVCache:
    """An empty :class:`FastKVCache` for ``batch_size`` rows.

    ``capacity_hint``: positions to allocate at first (prompt plus new tokens, if known). Without
    it the buffers are sized on the first append (the prompt) with room for 64 more positions,
    and double when full, so a wrong hint only costs an occasional copy.
    """
    cfg = tl_model.cfg
    n_kv = cfg.n_key_value_heads if cfg.n_key_value_heads is not None else cfg.n_heads
    device = tl_model.W_E.device
    return FastKVCache(cfg.n_layers, batch_size, n_kv, cfg.d_head, device, capacity_hint)


# --- the attention path ------------------------------------------------------------------------------


def _fast_subclass(cls: type) -> type:
    """The subclass of attention class ``cls`` whose ``forward`` dispatches on the cache entry.

    The subclass has ``cls`` as its only base and adds no instance state, so CPython allows
    ``module.__class__ = subclass`` on an existing module (a mixin base would change the
    instance layout CPython checks, and the assignment would be refused).
    """
    original_forward = cls.forward

    def forward(
        self: Any,
        query_input: Float[Tensor, "batch pos d_model"],
        key_input: Float[Tensor, "batch kv_pos d_model"],
        value_input: Float[Tensor, "batch kv_pos d_model"],
        past_kv_cache_entry: Any = None,
        additive_attention_mask: Tensor | None = None,
        attention_mask: Int[Tensor, "batch offset_pos"] | None = None,
        position_bias: Tensor | None = None,
    ) -> Float[Tensor, "batch pos d_model"]:
        if not isinstance(past_kv_cache_entry, FastKVCacheEntry):
            return original_forward(
                self,
                query_input,
                key_input,
                value_input,
                past_kv_cache_entry=past_kv_cache_entry,
                additive_attention_mask=additive_attention_mask,
                attention_mask=attention_mask,
                position_bias=position_bias,
            )
        if position_bias is not None:
            raise NotImplementedError("relative position biases are not supported by the fast cache")
        return _fast_forward(
            self, query_input, key_input, value_input, past_kv_cache_entry, additive_attention_mask, attention_mask
        )

    namespace = {"__module__": __name__, "__doc__": cls.__doc__, "forward": forward, "_tl_class": cls}
    return type(f"Fast{cls.__name__}", (cls,), namespace)


def _rotate(attn: Any, x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """``apply_rotary``'s arithmetic for the given per-token tables (``[batch, pos, 1, rot_dim]``)."""
    rot_dim = attn.cfg.rotary_dim
    x_rot = x[..., :rot_dim]
    rotated = x_rot * cos + attn.rotate_every_two(x_rot) * sin
    if rot_dim == x.shape[-1]:
        return rotated
    return torch.cat([rotated, x[..., rot_dim:]], dim=-1)


def _has_hooks(hook_point: torch.nn.Module) -> bool:
    return bool(hook_point._forward_hooks) or bool(hook_point._forward_pre_hooks)


def _fast_forward(
    attn: Any,
    query_input: Tensor,
    key_input: Tensor,
    value_input: Tensor,
    entry: FastKVCacheEntry,
    additive_attention_mask: Tensor | None,
    attention_mask: Tensor | None,
) -> Tensor:
    cfg = attn.cfg
    # hook_q / hook_k / hook_v fire here, on the new tokens, as in TransformerLens.
    q, k, v = attn.calculate_qkv_matrices(query_input, key_input, value_input)
    batch, q_len, n_heads, d_head = q.shape
    n_kv = k.shape[2]
    group = n_heads // n_kv
    offset = entry.length
    k_len = offset + q_len
    step = entry.owner.step_masks(attention_mask, offset, q_len, q.device)

    rotary = cfg.positional_embedding_type == "rotary"
    if rotary:
        if k_len > attn.rotary_cos.shape[0]:
            # Same growth rule as ``apply_rotary``, so the tables match TransformerLens' exactly.
            attn._extend_rotary_embeddings(min(cfg.n_ctx, max(k_len, 2 * attn.rotary_cos.shape[0])))
        cos = attn.rotary_cos[step.position_ids, None, :]
        sin = attn.rotary_sin[step.position_ids, None, :]
        q = attn.hook_rot_q(_rotate(attn, q, cos, sin))
        k = _rotate(attn, k, cos, sin)

    keys, values = entry.append(k, v)  # [batch, kv_head, k_pos, d_head] views of the cache
    # TransformerLens shows hook_rot_k the whole rotated key sequence of this call. A hook gets a
    # copy (so an in-place edit lasts one call, as there) and its result is what attends.
    if rotary and _has_hooks(attn.hook_rot_k):
        hooked = attn.hook_rot_k(keys.transpose(1, 2).clone(memory_format=torch.contiguous_format))
        keys = hooked.transpose(1, 2)

    # Query head h reads key-value head h // group: grouping the queries by their key-value
    # head lets one matrix product per key-value head serve all its query heads.
    q_grouped = q.permute(0, 2, 1, 3).reshape(batch, n_kv, group * q_len, d_head)
    scores = (q_grouped @ keys.transpose(-1, -2)) / attn.attn_scale
    scores = scores.view(batch, n_heads, q_len, k_len)
    ignore = attn.IGNORE.to(scores.device)
    scores = torch.where(step.keep, scores, ignore)
    if additive_attention_mask is not None:
        scores = scores + additive_attention_mask
    scores = attn.hook_attn_scores(scores)

    pattern = F.softmax(scores, dim=-1)
    pattern = torch.where(torch.isnan(pattern), torch.zeros_like(pattern), pattern)
    pattern = attn.hook_pattern(pattern).to(dtype=values.dtype)

    z = pattern.reshape(batch, n_kv, group * q_len, k_len) @ values
    z = attn.hook_z(z.view(batch, n_heads, q_len, d_head).transpose(1, 2))

    # TransformerLens' ``rearrange(W_O, "head d_head d_model -> d_model (head d_head)")``, without
    # einops' per-call parsing; a view when ``optimize_layout`` has stored W_O in this layout.
    w = attn.W_O.permute(2, 0, 1).reshape(attn.W_O.shape[2], n_heads * d_head)
    if z.dtype != w.dtype:
        z = z.to(w.dtype)
    return F.linear(z.reshape(batch, q_len, n_heads * d_head), w, attn.b_O)
