"""The control comparison: every method's replies to the same prompts, judged and scored alike.

A :class:`Comparison` holds one set of prompts (the neutral prompt and each emotion prompt of
the same (skeleton, valence) groups), the judge, one decoding configuration and the control
methods (:mod:`circuits.modulation.methods`). :meth:`Comparison.run` generates the replies of
many :class:`Setting` s (method, target emotion, strength, random draw) at once: their rows share
batches, each row under its own setting's hooks (:func:`circuits.generation.generate_jobs`), so
a calibration grid, a sweep, the random draws and the method comparison are a few large batched
calls rather than hundreds of small ones. Replies come back as
:class:`~circuits.evaluation.records.JudgedReply` records with the method, the strength, the
perplexity of the reply under the unmodified model given the *neutral* prompt (so every method's
replies are scored by the same model and prompt) and its repetition.

Replies are kept per (setting, prompt): asking again for a setting, or for more of its prompts
(the rounds of an adaptive search), generates only what is new. With greedy decoding a reply
does not depend on the batch it was generated in.
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from circuits.data.prompts import Prompt
from circuits.evaluation.accuracy import accuracy
from circuits.evaluation.fluency import (
    corpus_distinct_2,
    distinct_2,
    longest_repeated_ngram,
    reply_perplexity,
    top_opening_share,
)
from circuits.evaluation.judges import Judge
from circuits.evaluation.records import NO_STRENGTH, JudgedReply, judged_records
from circuits.generation import Decoding, Job, generate_jobs
from circuits.model.backend import Backend
from circuits.modulation.methods import ControlMethod
from circuits.vocab import Method, Ties

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Setting:
    """One way of replying: a method, its target emotion, its strength, and for a drawn method
    (random circuits) which draw."""

    method: Method
    emotion: str
    strength: Any = None
    draw: int = 0


class Comparison:
    """Generates, judges and scores the replies of control settings on one set of prompts.

    Args:
        neutral: the neutral prompt of every group.
        by_emotion: each emotion's prompts of the same groups (for prompting).
        methods: the control methods, by name.
    """

    def __init__(self, model: Backend, judge: Judge, neutral: Sequence[Prompt], by_emotion: Mapping[str, Sequence[Prompt]],
                 decoding: Decoding, methods: Mapping[Method, ControlMethod], progress: bool = True) -> None:
        self.model, self.judge, self.decoding, self.methods, self.progress = model, judge, decoding, methods, progress
        self.neutral, self.by_emotion = list(neutral), {e: list(p) for e, p in by_emotion.items()}
        self._done: dict[tuple, JudgedReply] = {}
        """(setting key, prompt index) -> the judged reply, without its target (see :meth:`_key`)."""

    @staticmethod
    def _key(setting: Setting) -> tuple:
        """Settings that generate the same replies share a key: no intervention is the same for
        every target emotion (greedy decoding), and only drawn methods tell their draws apart."""
        emotion = None if setting.method is Method.NONE else setting.emotion
        return (setting.method, emotion, str(setting.strength), setting.draw)

    def settings(self, method: Method, emotion: str, strength: Any = None) -> list[Setting]:
        """The settings of one method toward one emotion: one, or one per draw of a drawn method."""
        draws = self.methods[method].draws
        return [Setting(method, emotion, strength, d) for d in range(draws or 1)]

    def run(self, settings: Sequence[Setting], n_prompts: int | None = None, desc: str = "generating"
            ) -> list[list[JudgedReply]]:
        """The judged replies of each setting to its first ``n_prompts`` prompts (None: all), in
        prompt order; a drawn method's records carry their ``draw``."""
        n = len(self.neutral) if n_prompts is None else min(n_prompts, len(self.neutral))
        todo: dict[tuple, tuple[Setting, list[int]]] = {}
        for s in settings:
            key = self._key(s)
            missing = [i for i in range(n) if (key, i) not in self._done]
            if missing and key not in todo:
                todo[key] = (s, missing)
        if todo:
            self._generate(list(todo.values()), desc)
        return [[self._record(s, i) for i in range(n)] for s in settings]

    def replies(self, method: Method, emotion: str, strength: Any = None, desc: str = "") -> list[JudgedReply]:
        """Every judged reply of ``method`` toward ``emotion`` (a drawn method: all its draws, pooled)."""
        return [r for rs in self.run(self.settings(method, emotion, strength), desc=desc or "generating") for r in rs]

    def _prompts(self, setting: Setting) -> list[Prompt]:
        return self.by_emotion[setting.emotion] if self.methods[setting.method].emotion_prompt else self.neutral

    def _generate(self, work: Sequence[tuple[Setting, list[int]]], desc: str) -> None:
        jobs = []
        for s, rows in work:
            prompts = self._prompts(s)
            jobs.append(Job([prompts[i].text for i in rows], self.methods[s.method].hooks(s.emotion, s.strength, s.draw)))
        replies = [r for rs in generate_jobs(self.model, jobs, self.decoding, desc, self.progress) for r in rs]
        labels = self.judge.classify([r.text for r in replies])
        rows = [(s, i) for s, idx in work for i in idx]
        log.info("%s: scoring the perplexity of %d replies under the unmodified model", desc, len(replies))
        ppl = reply_perplexity(self.model, [self.neutral[i].text for _, i in rows], [r.token_ids for r in replies],
                               self.decoding.batch_size, desc=f"{desc}: perplexity", progress=self.progress)
        for (s, i), reply, label, p in zip(rows, replies, labels, ppl):
            [record] = judged_records([self._prompts(s)[i]], [reply], [label], [s.emotion])
            self._done[self._key(s), i] = record.with_(perplexity=p, distinct_2=distinct_2(record.reply),
                                                       longest_repeat=longest_repeated_ngram(record.reply))

    def _record(self, s: Setting, i: int) -> JudgedReply:
        """The stored reply to prompt ``i`` under ``s``, judged against ``s``'s target emotion."""
        stored = self._done[self._key(s), i]
        control = self.methods[s.method]
        prompt = self._prompts(s)[i]
        return stored.with_(skeleton_id=prompt.skeleton_id, theme=prompt.theme, valence=prompt.valence,
                            target=s.emotion, method=s.method,
                            strength=str(s.strength) if control.takes_strength else NO_STRENGTH,
                            draw=s.draw if control.draws is not None else None)


def summarise(recs: Sequence[JudgedReply]) -> dict:
    """Accuracy, median perplexity, mean distinct-2 and mean longest repeat of some replies, and
    their diversity across replies: per target emotion, the share of the most common opening and
    the corpus distinct-2, averaged over the targets."""
    ppl = [r.perplexity for r in recs if r.perplexity == r.perplexity]
    by_target: dict[str, list[str]] = {}
    for r in recs:
        by_target.setdefault(r.target, []).append(r.reply)
    return {
        "accuracy": round(accuracy(recs), 2),
        "median_perplexity": round(statistics.median(ppl), 4) if ppl else None,
        "distinct_2": round(statistics.fmean(r.distinct_2 for r in recs), 4) if recs else None,
        "longest_repeat": round(statistics.fmean(r.longest_repeat for r in recs), 3) if recs else None,
        "top_opening": round(statistics.fmean(top_opening_share(t) for t in by_target.values()), 2) if recs else None,
        "corpus_distinct_2": round(statistics.fmean(corpus_distinct_2(t) for t in by_target.values()), 4)
        if recs else None,
        "n": len(recs),
    }


def choose(candidates: Sequence[tuple[Any, dict]], limit: float, ties: Ties = Ties.FLUENT) -> tuple[Any, dict]:
    """The one rule for every method: most accurate within the fluency limit (ties: lower
    perplexity, or higher with ``ties=strong``); if nothing is within the limit, the most fluent
    candidate."""
    return min(candidates, key=lambda sm: _rank(sm[1], limit, ties))


def _rank(stats: dict, limit: float, ties: Ties = Ties.FLUENT) -> tuple:
    """Sort key of the rule (smaller is better): within the limit first, by accuracy then
    perplexity (``ties``); then the rest by perplexity."""
    ppl = stats["median_perplexity"]
    if within_limit(stats, limit):
        return (0, -stats["accuracy"], ppl if ties is Ties.FLUENT else -ppl)
    return (1, ppl if ppl is not None else float("inf"), 0.0)


def within_limit(stats: dict, limit: float) -> bool:
    """Whether some replies' median perplexity stays within the fluency limit."""
    ppl = stats["median_perplexity"]
    return ppl is not None and ppl <= limit
