"""Judges: which emotion (or none) does a reply express?

Emotion-expression accuracy is the share of replies whose label equals the target emotion.
Every judge implements :class:`Judge` and returns one of :data:`~circuits.emotions.JUDGE_LABELS`
per reply (six emotions + ``neutral``). Offline judges ship here:

- ``hybrid``: the default; the offline classifier inside a reader's rules (loops say nothing,
  an emotion needs a cue of it, negations and politeness formulas carry none). It agrees with
  the hand-labelled replies where the classifier alone does not (SmolLM2's free text).
- ``offline``: the project's classifier (:mod:`circuits.evaluation.offline_judge`), trained on
  held-out synthetic replies and shipped beside ``emo-tiny``.
- ``nrc``: counts of NRC Emotion Lexicon associations (the ``nrclex`` package's word list),
  an independent signal used to cross-check the offline judge.
- ``keyword``: the cue words of :mod:`circuits.evaluation.cues` alone; a transparent baseline.

The field's judges, for users with the weights or a network, are in
:mod:`circuits.evaluation.field_judges`: ``hf`` (a Hugging Face emotion classifier) and ``llm``
(a chat model asked for the label). Another judge: a :class:`~circuits.vocab.JudgeKind` member
and a factory in :data:`JUDGES`.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Protocol

from circuits.emotions import EMOTIONS, NEUTRAL
from circuits.evaluation.cues import cue_counts, readable
from circuits.vocab import JudgeKind


class Judge(Protocol):
    """Labels replies with one of the six emotions or ``neutral``."""

    name: str

    def classify(self, texts: Sequence[str]) -> list[str]: ...


_WORD = re.compile(r"[a-z']+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _vote(counts: Counter[str]) -> str:
    """Most frequent emotion; ties broken by the study's emotion order; none: neutral."""
    if not counts:
        return NEUTRAL
    best = max(counts.values())
    return next(e for e in EMOTIONS if counts.get(e, 0) == best)


class KeywordJudge:
    """Counts cue words per emotion (:mod:`circuits.evaluation.cues`: negated cues and politeness
    formulas do not count); the label with most cues wins, no cue means neutral."""

    name = "keyword"

    def classify(self, texts: Sequence[str]) -> list[str]:
        return [_vote(cue_counts(text)) for text in texts]


class HybridJudge:
    """The default judge: a reader's rules around the offline classifier.

    A reply that is mostly loop (:func:`~circuits.evaluation.cues.readable`) is neutral. Otherwise,
    on its readable words, the offline classifier's label stands when it is confident
    (``threshold``) and the text carries a cue of that emotion; else the cues decide (ties broken
    by the classifier's probabilities), and no cue means neutral. The classifier knows the
    testbed's phrasings; the cues keep it from naming an emotion in text that expresses none (a
    template's opening without its feeling, refusals, advice, politeness formulas).
    """

    name = "hybrid"

    def __init__(self, threshold: float = 0.8, max_loop: float = 0.5) -> None:
        from circuits.evaluation.offline_judge import load_offline_judge

        self.classifier = load_offline_judge()
        self.threshold, self.max_loop = threshold, max_loop

    def classify(self, texts: Sequence[str]) -> list[str]:
        if not texts:
            return []
        parts = [readable(t) for t in texts]
        probs = self.classifier.probabilities([words or "." for words, _ in parts])
        labels = self.classifier.labels
        out = []
        for (words, loop), p in zip(parts, probs):
            counts = cue_counts(words) if loop < self.max_loop else Counter()
            best = labels[int(p.argmax())]
            if counts[best] and p.max() >= self.threshold:
                out.append(best)
            elif not counts:
                out.append(NEUTRAL)
            else:
                top = max(counts.values())
                out.append(max((e for e in EMOTIONS if counts[e] == top), key=lambda e: p[labels.index(e)]))
        return out


@lru_cache(maxsize=1)
def nrc_lexicon() -> dict[str, tuple[str, ...]]:
    """The NRC Emotion Lexicon as shipped by ``nrclex`` (word -> affect categories), read offline."""
    from importlib import resources

    with resources.files("nrclex.data").joinpath("nrc_en.json").open("r", encoding="utf-8") as fh:
        raw = json.load(fh)
    return {w: tuple(v) for w, v in raw.items()}


NRC_TO_STUDY = {"anger": "anger", "sadness": "sadness", "joy": "happiness", "fear": "fear",
                "surprise": "surprise", "disgust": "disgust"}


class NRCJudge:
    """Counts NRC lexicon associations of the reply's words (joy -> happiness); none: neutral.

    Independent of the project's templates, so it is a cross-check, not a strong classifier:
    lexicon words such as "deal" or "team" carry associations out of context.
    """

    name = "nrc"

    def __init__(self) -> None:
        self.lexicon = nrc_lexicon()

    def _lookup(self, word: str) -> tuple[str, ...]:
        for form in (word, word.rstrip("s"), re.sub(r"(ed|ing|ly)$", "", word)):
            if form in self.lexicon:
                return self.lexicon[form]
        return ()

    def scores(self, text: str) -> Counter[str]:
        counts: Counter[str] = Counter()
        for w in words(text):
            for category in self._lookup(w):
                if category in NRC_TO_STUDY:
                    counts[NRC_TO_STUDY[category]] += 1
        return counts

    def classify(self, texts: Sequence[str]) -> list[str]:
        return [_vote(self.scores(t)) for t in texts]


def _offline() -> Judge:
    from circuits.evaluation.offline_judge import load_offline_judge

    return load_offline_judge()


def _hf(hf_model: str | None = None, device: str = "cpu", **_) -> Judge:
    from circuits.evaluation.field_judges import DEFAULT_HF_MODEL, HFJudge

    return HFJudge(hf_model or DEFAULT_HF_MODEL, device=device)


def _llm(llm_model: str = "smollm2-135m-instruct", **_) -> Judge:
    from circuits.evaluation.field_judges import LLMJudge

    return LLMJudge(llm_model)


JUDGES: dict[JudgeKind, Callable[..., Judge]] = {
    JudgeKind.OFFLINE: lambda **_: _offline(),
    JudgeKind.KEYWORD: lambda **_: KeywordJudge(),
    JudgeKind.HYBRID: lambda **_: HybridJudge(),
    JudgeKind.NRC: lambda **_: NRCJudge(),
    JudgeKind.HF: _hf,
    JudgeKind.LLM: _llm,
}
"""A factory per judge kind, given the judge's options (``hf_model``, ``llm_model``, ``device``;
a new judge: a :class:`~circuits.vocab.JudgeKind` member and a factory here)."""


def make_judge(kind: JudgeKind | str = JudgeKind.HYBRID, **options) -> Judge:
    """The judge of ``kind`` (a :class:`~circuits.vocab.JudgeKind` or its value), with the
    options its factory takes (``hf_model``, ``llm_model``, ``device``)."""
    return JUDGES[JudgeKind[kind] if isinstance(kind, str) else kind](**options)
