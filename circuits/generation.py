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
from torch import Tensor
from tqdm.auto import tqdm

from circuits.errors import UserError
from circuits.interventions import AddToUnits, AddVector, PhasedAddToUnits, at_step, decode_step
from circuits.model.backend import Backend, HookFn, length_batches
from circuits.sites import Site

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


COMPACT_AT = 0.25
"""Drop the rows whose reply has ended once they are this share of the batch (and at least 8):
they stop costing decoding steps."""


class RowMap:
    """Which job each row of a batch belongs to, kept up to date as finished rows are dropped."""

    def __init__(self, owners: Sequence[int]) -> None:
        self.owners = torch.tensor(list(owners), dtype=torch.long)
        self.alive = torch.arange(len(self.owners))
        self.owners_at_start = self.owners
        """Each current row's index in the batch as it started."""
        self._rows: dict[int, Tensor] = {}

    def keep(self, kept: Tensor) -> None:
        kept = kept.cpu()
        self.owners, self.alive = self.owners[kept], self.alive[kept]
        self._rows = {}

    def rows_of(self, job: int) -> Tensor | None:
        """The rows of ``job`` (None: every row of the batch is the job's)."""
        if job not in self._rows:
            mine = (self.owners == job).nonzero().flatten()
            self._rows[job] = mine
        mine = self._rows[job]
        return None if len(mine) == len(self.owners) else mine


@torch.inference_mode()
def _generate_batch(
    model: Backend, prompt_ids: Sequence[Sequence[int]], decoding: Decoding, gen: torch.Generator | None,
    rowmap: RowMap | None = None,
) -> list[Reply]:
    batch = model.pad(prompt_ids)
    n = len(prompt_ids)
    cache = model.new_kv_cache(n)
    device = model.device
    stops = torch.tensor(model.stop_token_ids, device=device)
    out = torch.full((n, decoding.max_new_tokens), model.pad_token_id, dtype=torch.long, device=device)
    length = torch.zeros(n, dtype=torch.long, device=device)
    finished = torch.zeros(n, dtype=torch.bool, device=device)
    rows = torch.arange(n, device=device)
    """The original index of each row still decoding."""
    done = torch.zeros(n, dtype=torch.bool, device=device)
    with at_step(0):
        logits = model.last_logits(batch.tokens, batch.attention_mask, cache)
    for step in range(1, decoding.max_new_tokens + 1):
        if step <= decoding.min_new_tokens:
            logits[:, stops] = -torch.inf
        nxt = _next_tokens(logits, decoding, gen)
        nxt = torch.where(done, torch.full_like(nxt, model.pad_token_id), nxt)
        out[rows, step - 1] = nxt
        length[rows[~done]] = step
        hit_stop = torch.isin(nxt, stops) & ~done
        finished[rows[hit_stop]] = True
        done |= hit_stop
        if bool(done.all()) or step == decoding.max_new_tokens:
            break
        n_done = int(done.sum())
        if n_done >= max(8, COMPACT_AT * len(rows)):
            kept = (~done).nonzero().flatten()
            model.keep_rows(cache, kept)
            rows, done, nxt = rows[kept], done[kept], nxt[kept]
            if rowmap is not None:
                rowmap.keep(kept)
        with at_step(step):
            logits = model.last_logits(nxt[:, None], torch.ones((len(rows), 1), dtype=torch.long, device=device), cache)
    replies = []
    for i in range(n):
        ids = out[i, : int(length[i])].tolist()
        if finished[i]:
            ids = ids[: next(j for j, t in enumerate(ids) if t in model.stop_token_ids)]
        replies.append(Reply(model.decode(ids).strip(), tuple(ids), bool(finished[i])))
    return replies


@dataclass(frozen=True)
class Job:
    """Prompts to answer under one set of hooks (an intervention; none: the model as it is)."""

    prompts: Sequence[str]
    hooks: Sequence[tuple[Site, HookFn]] = ()


class _RowHooks:
    """One site's hooks for a batch whose rows belong to different jobs: each job's hook sees
    (and edits) only its own rows. Hooks act position by position within a row, so a row's
    activations are what they would be in a batch of its own job."""

    def __init__(self, parts: Sequence[tuple[int, HookFn]], rowmap: RowMap) -> None:
        self.parts, self.rowmap = parts, rowmap

    def __call__(self, act: Tensor) -> Tensor | None:
        out = None
        for job, fn in self.parts:
            rows = self.rowmap.rows_of(job)
            if rows is not None and len(rows) == 0:
                continue
            sub = act if rows is None else act[rows]
            new = fn(sub)
            if new is None or new is sub:
                continue
            if rows is None:
                return new
            if out is None:
                out = act.clone()
            out[rows] = new
        return out


class _DenseAdd:
    """Additive hooks of one kind and position policy at one site, for all their rows at once:
    each row's addition (zero for rows whose job adds nothing here) is laid out in one tensor
    when the site is first reached, and one addition serves the whole batch. Adding zero leaves
    a value as it is, so every row gets exactly what its own hook would give it.

    Kinds: :class:`~circuits.interventions.AddToUnits` and
    :class:`~circuits.interventions.PhasedAddToUnits` (a prompt-phase and a reply-phase
    addition, the latter for a number of decoding steps per row), and
    :class:`~circuits.interventions.AddVector` (a residual direction, optionally RMS-scaled)."""

    def __init__(self, parts: Sequence[tuple[int, HookFn]], rowmap: RowMap) -> None:
        self.parts, self.rowmap = parts, rowmap
        first = parts[0][1]
        self.vector = isinstance(first, AddVector)
        self.positions = first.positions if isinstance(first, (AddVector, AddToUnits)) else first.prompt.positions
        self.rms_scaled = self.vector and first.rms_scaled
        self._built: tuple[Tensor, Tensor, Tensor] | None = None

    def _build(self, act: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        n = len(self.rowmap.owners_at_start)
        prompt = torch.zeros((n, *act.shape[2:]), dtype=act.dtype, device=act.device)
        reply = torch.zeros_like(prompt)
        steps = torch.full((n,), 1 << 30, dtype=torch.long, device=act.device)
        for job, fn in self.parts:
            rows = (self.rowmap.owners_at_start == job).nonzero().flatten().to(act.device)
            if self.vector:
                prompt[rows] = fn.scale * fn.vec.to(act)
                reply[rows] = prompt[rows]
                continue
            phases = (fn, fn) if isinstance(fn, AddToUnits) else (fn.prompt, fn.reply)
            for target, add in zip((prompt, reply), phases):
                if len(add.index):
                    sub = target[rows]
                    sub[:, add.index] = add.scale * add.values.to(act)
                    target[rows] = sub
            if isinstance(fn, PhasedAddToUnits) and fn.reply_steps is not None:
                steps[rows] = fn.reply_steps
        return prompt, reply, steps

    def __call__(self, act: Tensor) -> Tensor | None:
        step = decode_step()
        sel = self.positions.select(act.shape[1], step)
        if sel is None:
            return None
        if self._built is None:
            self._built = self._build(act)
        prompt, reply, steps = self._built
        alive = self.rowmap.alive.to(act.device)
        if step is None or step == 0:
            add = prompt[alive]
        else:
            add = reply[alive] * (step <= steps[alive]).to(act.dtype).reshape(-1, *[1] * (act.ndim - 2))
        add = add[:, None]
        out = act.clone()
        part = out[:, sel]
        if self.rms_scaled:
            add = part.pow(2).mean(dim=-1, keepdim=True).sqrt() * add
        out[:, sel] = part + add
        return out


def _dense_group(fn: HookFn) -> tuple | None:
    """The group of hooks ``fn`` can be applied with in one :class:`_DenseAdd` (None: none)."""
    if isinstance(fn, AddVector):
        return ("vector", fn.positions, fn.rms_scaled)
    if isinstance(fn, AddToUnits):
        return ("units", fn.positions)
    if isinstance(fn, PhasedAddToUnits) and fn.prompt.positions is fn.reply.positions:
        return ("units", fn.prompt.positions)
    return None


def _row_hooks(jobs: Sequence[Job], rowmap: RowMap, present: Sequence[int]) -> list[tuple[Site, HookFn]]:
    """The hooks of a batch whose rows belong to the jobs ``present`` (as ``rowmap`` says):
    additive hooks of one kind together (:class:`_DenseAdd`), any other hook on its own rows."""
    parts: dict[Site, list[tuple[int, HookFn]]] = {}
    for j in present:
        for site, fn in jobs[j].hooks:
            parts.setdefault(site, []).append((j, fn))
    hooks: list[tuple[Site, HookFn]] = []
    for site, site_parts in parts.items():
        groups: dict[tuple, list[tuple[int, HookFn]]] = {}
        others = []
        for job, fn in site_parts:
            key = _dense_group(fn)
            (groups.setdefault(key, []) if key is not None else others).append((job, fn))
        hooks += [(site, _DenseAdd(g, rowmap)) for g in groups.values()]
        if others:
            hooks.append((site, _RowHooks(others, rowmap)))
    return hooks


def generate_jobs(
    model: Backend,
    jobs: Sequence[Job],
    decoding: Decoding = Decoding(),
    desc: str = "generating",
    progress: bool = True,
) -> list[list[Reply]]:
    """Replies to every job's prompts, each job under its own hooks, in as few batched calls as
    the batch size allows: the rows of one batch may belong to different jobs (a calibration
    grid, a sweep, random draws, the methods of a comparison). With greedy decoding a job's
    replies are the ones it would get generated on its own.

    Every prompt and its longest reply must fit the model's context; a longer one is refused
    before any decoding. Hooks attached around this call (``with model.hooks(...)``) act on
    every row.
    """
    owners = [j for j, job in enumerate(jobs) for _ in job.prompts]
    ids = [model.token_ids(p) for job in jobs for p in job.prompts]
    if not ids:
        return [[] for _ in jobs]
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
        rowmap = RowMap([owners[i] for i in chunk])
        with model.hooks(_row_hooks(jobs, rowmap, sorted({owners[i] for i in chunk}))):
            for i, reply in zip(chunk, _generate_batch(model, [ids[i] for i in chunk], decoding, gen, rowmap)):
                replies[i] = reply
    out: list[list[Reply]] = [[] for _ in jobs]
    for owner, reply in zip(owners, replies):
        out[owner].append(reply)
    return out


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
    act on every forward call of the generation; :func:`generate_jobs` gives each set of prompts
    its own hooks in shared batches.
    """
    return generate_jobs(model, [Job(prompts)], decoding, desc, progress)[0]
