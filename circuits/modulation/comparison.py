"""The control comparison: every method's replies to the same prompts, judged and scored alike.

A :class:`Comparison` holds one set of prompts (the neutral prompt and each emotion prompt of
the same (skeleton, valence) groups), the judge, one decoding configuration and the control
methods (:mod:`circuits.modulation.methods`). :meth:`Comparison.replies` generates a method's
replies for one target emotion at one strength and returns them as
:class:`~circuits.evaluation.records.JudgedReply` records with the method, the strength, the
perplexity of the reply under the unmodified model given the *neutral* prompt (so every method's
replies are scored by the same model and prompt) and its repetition.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from circuits.data.prompts import Prompt
from circuits.evaluation.accuracy import accuracy
from circuits.evaluation.fluency import distinct_2, longest_repeated_ngram, reply_perplexity
from circuits.evaluation.judges import Judge
from circuits.evaluation.records import NO_STRENGTH, JudgedReply, judged_records
from circuits.generation import Decoding, Reply, generate
from circuits.model.backend import Backend
from circuits.modulation.methods import ControlMethod
from circuits.vocab import Method


class Comparison:
    """Generates, judges and scores the replies of one method for one emotion on one set of prompts.

    Args:
        neutral: the neutral prompt of every group.
        by_emotion: each emotion's prompts of the same groups (for prompting).
        methods: the control methods, by name.
    """

    def __init__(self, model: Backend, judge: Judge, neutral: Sequence[Prompt], by_emotion: Mapping[str, Sequence[Prompt]],
                 decoding: Decoding, methods: Mapping[Method, ControlMethod], progress: bool = True) -> None:
        self.model, self.judge, self.decoding, self.methods, self.progress = model, judge, decoding, methods, progress
        self.neutral, self.by_emotion = list(neutral), {e: list(p) for e, p in by_emotion.items()}
        self._unmodified: tuple[list[Reply], list[str], list[float]] | None = None
        """The neutral prompts' unmodified replies, labels and perplexities: the same for every
        target emotion (greedy decoding), so generated once."""

    def replies(self, method: Method, emotion: str, strength: Any = None, desc: str = "") -> list[JudgedReply]:
        """The method's judged replies toward ``emotion``, one per group (a drawn method: one per
        group and draw, each record with its ``draw``)."""
        draws = self.methods[method].draws
        if draws is None:
            return self._replies(method, emotion, strength, desc)
        return [r.with_(draw=d) for d in range(draws) for r in self._replies(method, emotion, strength, f"{desc} draw {d}", d)]

    def _replies(self, method: Method, emotion: str, strength: Any, desc: str, draw: int = 0) -> list[JudgedReply]:
        control = self.methods[method]
        prompts = self.by_emotion[emotion] if control.emotion_prompt else self.neutral
        if method is Method.NONE and self._unmodified is not None:
            replies, labels, ppl = self._unmodified
        else:
            with control.context(self.model, emotion, strength, draw):
                replies = generate(self.model, [p.text for p in prompts], self.decoding, desc=desc, progress=self.progress)
            labels = self.judge.classify([r.text for r in replies])
            ppl = reply_perplexity(self.model, [p.text for p in self.neutral], [r.token_ids for r in replies],
                                   self.decoding.batch_size)
            if method is Method.NONE:
                self._unmodified = (replies, labels, ppl)
        label = str(strength) if control.takes_strength else NO_STRENGTH
        return [r.with_(method=method, strength=label, perplexity=p, distinct_2=distinct_2(r.reply),
                        longest_repeat=longest_repeated_ngram(r.reply))
                for r, p in zip(judged_records(prompts, replies, labels, [emotion] * len(prompts)), ppl)]


def summarise(recs: Sequence[JudgedReply]) -> dict:
    """Accuracy, median perplexity, mean distinct-2 and mean longest repeat of some replies."""
    ppl = [r.perplexity for r in recs if r.perplexity == r.perplexity]
    return {
        "accuracy": round(accuracy(recs), 2),
        "median_perplexity": round(statistics.median(ppl), 4) if ppl else None,
        "distinct_2": round(statistics.fmean(r.distinct_2 for r in recs), 4) if recs else None,
        "longest_repeat": round(statistics.fmean(r.longest_repeat for r in recs), 3) if recs else None,
        "n": len(recs),
    }


def choose(candidates: Sequence[tuple[Any, dict]], limit: float) -> tuple[Any, dict]:
    """The one rule for every method: most accurate within the fluency limit (ties: lower
    perplexity); if nothing is within the limit, the most fluent candidate."""
    ok = [(s, m) for s, m in candidates if m["median_perplexity"] is not None and m["median_perplexity"] <= limit]
    if ok:
        return max(ok, key=lambda sm: (sm[1]["accuracy"], -sm[1]["median_perplexity"]))
    return min(candidates, key=lambda sm: sm[1]["median_perplexity"] or float("inf"))
