"""Fluency and repetition of replies: the cost side of controlling emotion.

- **perplexity** of a reply under the *unmodified* model given the *neutral* prompt: how
  natural the reply is as an answer to the question that was actually asked. Every method's
  replies are scored by the same model and prompt, so perplexities are comparable.
- **distinct-2**: unique word bigrams / word bigrams in a reply (1.0: no repeated bigram).
- **longest repeated n-gram**: the largest n such that some word n-gram occurs twice.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import torch

from circuits.model.backend import Backend

_WORD = re.compile(r"\w+|[^\w\s]")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def distinct_2(text: str) -> float:
    w = _words(text)
    bigrams = list(zip(w, w[1:]))
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
) -> list[float]:
    """exp(mean negative log-likelihood) of each reply's tokens given its prompt, under the
    model as it is (call it with no interventions attached). With ``include_stop`` the
    end-of-turn token counts too, so a reply that never ends is penalised."""
    stop = model.stop_token_ids[0]
    out: list[float] = []
    for i in range(0, len(prompts), batch_size):
        chunk_p = [model.token_ids(p) for p in prompts[i : i + batch_size]]
        chunk_r = [list(r) + ([stop] if include_stop else []) for r in replies[i : i + batch_size]]
        batch = model.pad([p + r for p, r in zip(chunk_p, chunk_r)])
        # Left padding puts every reply at the end: only the last (longest reply + 1) positions
        # predict reply tokens, so the vocabulary-wide logits are computed there alone.
        n = max(1, max(len(r) for r in chunk_r))
        logits = model.tail_logits(batch.tokens, batch.attention_mask, n + 1).float()
        logp = torch.log_softmax(logits[:, :-1], dim=-1)
        targets = batch.tokens[:, -n:]
        tok_lp = logp.gather(-1, targets[..., None])[..., 0]
        for row, r in enumerate(chunk_r):
            if not r:
                out.append(float("nan"))
                continue
            lp = tok_lp[row, n - len(r) :]
            out.append(math.exp(float(-lp.mean())))
    return out
