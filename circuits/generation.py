"""Batched generation with left padding and a key-value cache: the one engine every generating
stage uses (elicitation, steering, modulation), with or without interventions attached.

How it runs: prompts are sorted by length (less padding), cut into batches, left-padded so the
last prompt token sits at position -1 of every row; one *prefill* forward fills the cache, then
each *decoding step* feeds one new token per row. Interventions that depend on where they act
(the last prompt token, every generated token, all positions) read
:func:`circuits.interventions.decode_step`: 0 during the prefill call, k >= 1 at the k-th
decoding step, None outside generation.

With greedy decoding, a prompt's reply does not depend on the batch it was generated in.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from circuits.errors import UserError
from circuits.interventions import at_step
from circuits.model.backend import Backend, length_batches

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Decoding:
    """Decoding settings, shared by every method that a comparison puts side by side."""

    max_new_tokens: int = 48
    batch_size: int = 64
    min_new_tokens: int = 0
    """Stop tokens are suppressed until this many tokens are generated (0: stop freely)."""
    greedy: bool = True
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int = 0


@dataclass(frozen=True)
class Reply:
    """One generated reply."""

    text: str
    token_ids: tuple[int, ...]
    finished: bool
    """True when the reply ended with a stop token within the token budget."""


def _next_tokens(logits: torch.Tensor, decoding: Decoding, gen: torch.Generator | None) -> torch.Tensor:
    if decoding.greedy:
        return logits.argmax(dim=-1)
    probs = torch.softmax(logits.float() / decoding.temperature, dim=-1)
    if decoding.top_p < 1.0:
        sorted_p, order = probs.sort(dim=-1, descending=True)
        keep = sorted_p.cumsum(dim=-1) - sorted_p < decoding.top_p
        sorted_p = sorted_p * keep
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_p)
    return torch.multinomial(probs, 1, generator=gen)[:, 0]


@torch.inference_mode()
def _generate_batch(
    model: Backend, prompt_ids: Sequence[Sequence[int]], decoding: Decoding, gen: torch.Generator | None
) -> list[Reply]:
    batch = model.pad(prompt_ids)
    n = len(prompt_ids)
    cache = model.new_kv_cache(n)
    stops = torch.tensor(model.stop_token_ids, device=model.device)
    out = torch.empty((n, 0), dtype=torch.long, device=model.device)
    done = torch.zeros(n, dtype=torch.bool, device=model.device)
    finished = torch.zeros(n, dtype=torch.bool, device=model.device)
    with at_step(0):
        logits = model.last_logits(batch.tokens, batch.attention_mask, cache)
    ones = torch.ones((n, 1), dtype=torch.long, device=model.device)
    for step in range(1, decoding.max_new_tokens + 1):
        if step <= decoding.min_new_tokens:
            logits[:, stops] = -torch.inf
        nxt = _next_tokens(logits, decoding, gen)
        nxt = torch.where(done, torch.full_like(nxt, model.pad_token_id), nxt)
        out = torch.cat([out, nxt[:, None]], dim=1)
        hit_stop = torch.isin(nxt, stops) & ~done
        finished |= hit_stop
        done |= hit_stop
        if bool(done.all()) or step == decoding.max_new_tokens:
            break
        with at_step(step):
            logits = model.last_logits(nxt[:, None], ones, cache)
    replies = []
    for i in range(n):
        ids = out[i].tolist()
        if finished[i]:
            ids = ids[: next(j for j, t in enumerate(ids) if t in model.stop_token_ids)]
        replies.append(Reply(model.decode(ids).strip(), tuple(ids), bool(finished[i])))
    return replies


def generate(
    model: Backend,
    prompts: Sequence[str],
    decoding: Decoding = Decoding(),
    desc: str = "generating",
    progress: bool = True,
) -> list[Reply]:
    """Replies to ``prompts`` (rendered chat prompts), in the same order. Every prompt and its
    longest reply must fit the model's context; a longer one is refused before any decoding.

    Hooks attached around this call (``with model.hooks(...)`` or an intervention context)
    act on every forward call of the generation.
    """
    if not prompts:
        return []
    ids = [model.token_ids(p) for p in prompts]
    longest = max(map(len, ids))
    if longest + decoding.max_new_tokens > model.info.n_ctx:
        raise UserError(
            f"a prompt of {longest} tokens and a reply of up to {decoding.max_new_tokens} tokens exceed "
            f"{model.info.name}'s context of {model.info.n_ctx} tokens: lower decoding.max_new_tokens to at most "
            f"{max(0, model.info.n_ctx - longest)} or shorten the prompts"
        )
    gen = None
    if not decoding.greedy:
        gen = torch.Generator(device=model.device).manual_seed(decoding.seed)
    replies: list[Reply | None] = [None] * len(ids)
    chunks = length_batches(ids, decoding.batch_size)
    for chunk in tqdm(chunks, desc=desc, disable=not progress or len(chunks) < 2, leave=False):
        for i, reply in zip(chunk, _generate_batch(model, [ids[i] for i in chunk], decoding, gen)):
            replies[i] = reply
    return [r for r in replies if r is not None]
