"""Fluency and repetition of replies: the cost side of controlling emotion.

- **perplexity** of a reply under the *unmodified* model given the *neutral* prompt: how
  natural the reply is as an answer to the question that was actually asked. Every method's
  replies are scored by the same model and prompt, so perplexities are comparable.
- **distinct-2**: unique word bigrams / word bigrams in a reply (1.0: no repeated bigram).
- **longest repeated n-gram**: the largest n such that some word n-gram occurs twice.

Diversity *across* replies (a method can hit the emotion by collapsing every reply onto one
template, which the per-reply measures do not see):

- **top opening share**: the share of replies that open with the most common first three words;
- **corpus distinct-2**: unique word bigrams / word bigrams over all the replies together.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import torch
from tqdm.auto import tqdm

from circuits.model.backend import Backend

_WORD = re.compile(r"\w+|[^\w\s]")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def distinct_2(text: str) -> float:
    w = _words(text)
    bigrams = list(zip(w, w[1:]))
    return len(set(bigrams)) / len(bigrams) if bigrams else 1.0


def opening(text: str, n: int = 3) -> tuple[str, ...]:
    """The first ``n`` words of ``text`` (lower case, punctuation dropped)."""
    return tuple(w for w in _words(text) if w[0].isalnum())[:n]


def top_opening_share(texts: Sequence[str], n: int = 3) -> float:
    """Percent of ``texts`` that open with their most common first ``n`` words."""
    if not texts:
        return 0.0
    counts: dict[tuple[str, ...], int] = {}
    for t in texts:
        key = opening(t, n)
        counts[key] = counts.get(key, 0) + 1
    return 100.0 * max(counts.values()) / len(texts)


def corpus_distinct_2(texts: Sequence[str]) -> float:
    """Unique word bigrams / word bigrams over all of ``texts`` (1.0: no bigram used twice)."""
    bigrams = [b for t in texts for b in zip(_words(t), _words(t)[1:])]
    return len(set(bigrams)) / len(bigrams) if bigrams else 1.0


def longest_repeated_ngram(text: str) -> int:
    w = _words(text)
    best = 0
    for n in range(1, len(w)):
        seen: set[tuple[str, ...]] = set()
        found = False
        for i in range(len(w) - n + 1):
            gram = tuple(w[i : i + n])
            if gram in seen:
                found = True
                break
            seen.add(gram)
        if not found:
            break
        best = n
    return best


@torch.inference_mode()
def reply_perplexity(
    model: Backend,
    prompts: Sequence[str],
    replies: Sequence[Sequence[int]],
    batch_size: int = 32,
    include_stop: bool = True,
    desc: str = "perplexity",
    progress: bool = False,
) -> list[float]:
    """exp(mean negative log-likelihood) of each reply's tokens given its prompt, under the
    model as it is (call it with no interventions attached). With ``include_stop`` the
    end-of-turn token counts too, so a reply that never ends is penalised. With ``progress``
    a bar counts the replies scored (minutes on a real vocabulary).

    Replies often share prompts (every method answers the same neutral prompts): each distinct
    prompt is run once, and its replies continue from its cached keys and values, so a reply
    costs only its own tokens (on backends with prefix caches; else prompt and reply together)."""
    stop = model.stop_token_ids[0]
    targets = [list(r) + ([stop] if include_stop else []) for r in replies]
    with tqdm(total=len(prompts), desc=desc, unit="reply", disable=not progress, leave=False) as bar:
        if not model.supports_prefix_cache:
            return _perplexity_whole(model, prompts, targets, batch_size, bar)
        return _perplexity_prefix(model, prompts, targets, batch_size, bar)


def _perplexity_prefix(model: Backend, prompts: Sequence[str], targets: Sequence[Sequence[int]],
                       batch_size: int, bar: tqdm) -> list[float]:
    """Each distinct prompt once, its replies continued from its cached keys and values."""
    out = [float("nan")] * len(prompts)
    by_prompt: dict[str, list[int]] = {}
    for i, p in enumerate(prompts):
        if targets[i]:
            by_prompt.setdefault(p, []).append(i)
    bar.update(len(prompts) - sum(map(len, by_prompt.values())))  # empty targets: nothing to score
    unique = sorted(by_prompt, key=lambda p: len(model.token_ids(p)))
    for start in range(0, len(unique), batch_size):
        chunk = unique[start : start + batch_size]
        batch = model.encode(chunk)
        first, cache = model.prefix_logits(batch.tokens, batch.attention_mask)
        first_lp = torch.log_softmax(first.float(), dim=-1)
        members = sorted(((row, i) for row, p in enumerate(chunk) for i in by_prompt[p]), key=lambda m: len(targets[m[1]]))
        for s in range(0, len(members), batch_size):
            sub = members[s : s + batch_size]
            for (_, i), nll in zip(sub, _continuation_nll(model, cache, first_lp, sub, targets)):
                out[i] = math.exp(nll)
            bar.update(len(sub))
    return out


def _continuation_nll(model: Backend, cache, first_lp: torch.Tensor, members: Sequence[tuple[int, int]],
                      targets: Sequence[Sequence[int]]) -> list[float]:
    """Mean negative log-likelihood of each member's target tokens after its cached prompt row:
    the first token from the prompt's last logits, the others from the right-padded continuation."""
    rows = torch.tensor([row for row, _ in members], device=model.device)
    seqs = [targets[i] for _, i in members]
    width = max(map(len, seqs))
    tokens = torch.full((len(seqs), width), model.pad_token_id, dtype=torch.long, device=model.device)
    for k, seq in enumerate(seqs):
        tokens[k, : len(seq)] = torch.tensor(seq, dtype=torch.long)
    lp = first_lp[rows].gather(-1, tokens[:, :1])  # [members 1]
    if width > 1:
        mask = (torch.arange(width - 1, device=model.device)[None, :] < torch.tensor(
            [len(s) - 1 for s in seqs], device=model.device)[:, None]).long()
        mask[:, 0] = 1  # every continuation has a first position (an empty one is masked out below)
        logits = model.tail_logits(tokens[:, :-1], mask, width - 1, model.cache_rows(cache, rows)).float()
        rest = torch.log_softmax(logits, dim=-1).gather(-1, tokens[:, 1:, None])[..., 0]
        lp = torch.cat([lp, rest], dim=1)
    return [float(-lp[k, : len(seq)].mean()) for k, seq in enumerate(seqs)]


def _perplexity_whole(model: Backend, prompts: Sequence[str], targets: Sequence[Sequence[int]],
                      batch_size: int, bar: tqdm) -> list[float]:
    """Prompt and reply run together, left-padded (the path for backends without prefix caches)."""
    out: list[float] = []
    for i in range(0, len(prompts), batch_size):
        chunk_p = [model.token_ids(p) for p in prompts[i : i + batch_size]]
        chunk_r = [list(r) for r in targets[i : i + batch_size]]
        batch = model.pad([p + r for p, r in zip(chunk_p, chunk_r)])
        # Left padding puts every reply at the end: only the last (longest reply + 1) positions
        # predict reply tokens, so the vocabulary-wide logits are computed there alone.
        n = max(1, max(len(r) for r in chunk_r))
        logits = model.tail_logits(batch.tokens, batch.attention_mask, n + 1).float()
        logp = torch.log_softmax(logits[:, :-1], dim=-1)
        tok_lp = logp.gather(-1, batch.tokens[:, -n:][..., None])[..., 0]
        for row, r in enumerate(chunk_r):
            out.append(math.exp(float(-tok_lp[row, n - len(r) :].mean())) if r else float("nan"))
        bar.update(len(chunk_r))
    return out
