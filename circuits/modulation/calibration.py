"""Choosing each method's strength by one rule: the most accurate setting whose median perplexity
stays within the fluency limit (:func:`circuits.modulation.comparison.choose`), on held-out
prompts, then frozen.

Two searches over the same candidates, with the same rule:

- **grid**: every candidate on every calibration prompt (the reference);
- **halving** (successive halving): every candidate on the first few prompts, then only the
  best ``1/rate`` of them (by the rule) on ``rate`` times as many prompts, and so on, until the
  survivors have seen every prompt; the rule then chooses among them on all the prompts. Most
  replies go to the promising settings, so it costs a fraction of the grid; a setting that looks
  poor on the first prompts can be dropped early, which is why the grid stays available.

Every round of either search is one batched call over all methods and emotions
(:meth:`circuits.modulation.comparison.Comparison.run`), and replies already generated for a
setting in an earlier round are reused.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from circuits.modulation.comparison import Comparison, Setting, _rank, choose, summarise, within_limit
from circuits.vocab import Method, Search, Ties

Key = tuple[Method, str]
"""(method, emotion): one strength is chosen for each."""


@dataclass(frozen=True)
class Choice:
    """The strength chosen for one method and emotion, its statistics on the calibration
    prompts, and what the search spent to find it."""

    strength: Any
    stats: dict
    candidates: int
    replies: int
    """Replies generated for this method and emotion (every round, every draw)."""


def _evaluate(comp: Comparison, pool: Mapping[Key, Sequence[Any]], n: int | None, desc: str) -> dict[Key, list[tuple[Any, dict]]]:
    """Each candidate's statistics on the first ``n`` prompts (a drawn method's draws pooled), in
    one batched call for every method and emotion."""
    settings = {(key, i): comp.settings(key[0], key[1], s) for key, cands in pool.items() for i, s in enumerate(cands)}
    flat = [s for ss in settings.values() for s in ss]
    results = iter(comp.run(flat, n, desc))
    by_setting = {k: [r for _ in ss for r in next(results)] for k, ss in settings.items()}
    return {key: [(s, summarise(by_setting[key, i])) for i, s in enumerate(cands)] for key, cands in pool.items()}


def calibrate(comp: Comparison, candidates: Mapping[Key, Sequence[Any]], limit: float, search: Search = Search.GRID,
              rate: int = 3, first: int = 10, ties: Ties = Ties.FLUENT) -> dict[Key, Choice]:
    """The strength of every (method, emotion) chosen among its candidates on ``comp``'s prompts.

    ``search`` picks the grid or successive halving; halving starts with ``first`` prompts per
    candidate and keeps ``1/rate`` of the candidates while multiplying the prompts by ``rate``.
    When no survivor of the halving stays within the fluency limit on every prompt (a candidate
    that looked fluent on the first prompts need not be), the candidates it dropped are measured
    on every prompt too and the rule chooses among all of them, as the grid would: halving never
    returns a setting past the limit where the grid would find one within it. ``ties`` breaks
    equal accuracies inside the limit, in every round.
    """
    total = len(comp.neutral)
    pool = {key: list(range(len(cands))) for key, cands in candidates.items()}
    seen = {key: [0] * len(cands) for key, cands in candidates.items()}
    """Prompts each candidate has replies for."""
    n = total if search is Search.GRID else min(total, first)
    while True:
        stats = _measure(comp, candidates, pool, seen, n, f"calibrating on {n} prompts")
        if n >= total:
            break
        pool = {key: [i for i, _ in sorted(results.items(), key=lambda item: _rank(item[1], limit, ties))
                      [: math.ceil(len(results) / rate)]]
                for key, results in stats.items()}
        n = min(total, n * rate)
    beyond = {key: [i for i in range(len(candidates[key])) if i not in results]
              for key, results in stats.items() if not any(within_limit(r, limit) for r in results.values())}
    beyond = {key: dropped for key, dropped in beyond.items() if dropped}
    if beyond:
        for key, results in _measure(comp, candidates, beyond, seen, total, "calibrating: dropped candidates").items():
            stats[key].update(results)
    chosen = {}
    for key, results in stats.items():
        best, best_stats = choose([(candidates[key][i], r) for i, r in results.items()], limit, ties)
        replies = sum(seen[key]) * (comp.methods[key[0]].draws or 1)
        chosen[key] = Choice(best, best_stats, len(candidates[key]), replies)
    return chosen


def _measure(comp: Comparison, candidates: Mapping[Key, Sequence[Any]], pool: Mapping[Key, Sequence[int]],
             seen: dict[Key, list[int]], n: int, desc: str) -> dict[Key, dict[int, dict]]:
    """The statistics of the candidates in ``pool`` (by index) on the first ``n`` prompts, in one
    batched call; ``seen`` records the prompts each has now replied to."""
    stats = _evaluate(comp, {key: [candidates[key][i] for i in idx] for key, idx in pool.items()}, n, desc)
    out = {}
    for key, idx in pool.items():
        for i in idx:
            seen[key][i] = max(seen[key][i], n)
        out[key] = {i: st for i, (_, st) in zip(idx, stats[key])}
    return out


def fluency_limit(comp: Comparison, emotions: Sequence[str], factor: float) -> tuple[float, dict]:
    """``factor`` x the median perplexity of the unmodified replies to every prompt, and their
    statistics."""
    base = summarise([r for rs in comp.run([Setting(Method.NONE, e) for e in emotions], desc="calibrating: unmodified")
                      for r in rs])
    return factor * base["median_perplexity"], base
