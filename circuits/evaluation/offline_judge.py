"""The offline judge: a linear text classifier (six emotions + neutral), trained by the project.

TF-IDF features of word uni- and bigrams, multinomial logistic regression (scikit-learn). It is
trained on synthetic replies rendered from the testbed's reply templates with the *discovery*
skeletons' content, never on replies of a model, and evaluated on replies rendered with the
*test* skeletons, separately for phrasings it saw and phrasings held out from its training
(:func:`circuits.testbed.judge_data.judge_datasets`). The parameters ship as plain JSON
beside ``emo-tiny`` (no pickle), so loading does not depend on the scikit-learn version.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from circuits.emotions import JUDGE_LABELS
from circuits.errors import UserError
from circuits.paths import EMO_TINY_DIR

JUDGE_FILE = "judge.json"
NGRAMS = (1, 2)


def _vectorizer(vocabulary: dict[str, int] | None = None):
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        ngram_range=NGRAMS, sublinear_tf=True, lowercase=True, token_pattern=r"[a-z']+", vocabulary=vocabulary
    )


@dataclass(frozen=True, eq=False)
class OfflineJudge:
    """A fitted TF-IDF + logistic-regression judge."""

    vocabulary: dict[str, int]
    idf: np.ndarray
    coef: np.ndarray
    """[label feature]"""
    intercept: np.ndarray
    labels: tuple[str, ...] = JUDGE_LABELS
    name: str = "offline"

    @classmethod
    def train(cls, texts: Sequence[str], labels: Sequence[str], C: float = 10.0) -> OfflineJudge:
        from sklearn.linear_model import LogisticRegression

        vec = _vectorizer()
        X = vec.fit_transform(texts)
        y = np.array([JUDGE_LABELS.index(lab) for lab in labels])
        clf = LogisticRegression(C=C, max_iter=5000)
        clf.fit(X, y)
        coef = np.zeros((len(JUDGE_LABELS), X.shape[1]))
        intercept = np.full(len(JUDGE_LABELS), -1e9)
        coef[clf.classes_] = clf.coef_
        intercept[clf.classes_] = clf.intercept_
        vocab = {k: int(v) for k, v in vec.vocabulary_.items()}
        return cls(vocab, vec.idf_.copy(), coef, intercept)

    def _features(self, texts: Sequence[str]):
        vec = _vectorizer(self.vocabulary)
        vec.idf_ = self.idf
        return vec.transform(list(texts))

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """[text label] probabilities over :attr:`labels`."""
        logits = self._features(texts) @ self.coef.T + self.intercept
        logits = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def classify(self, texts: Sequence[str]) -> list[str]:
        if not texts:
            return []
        return [self.labels[i] for i in self.probabilities(texts).argmax(axis=1)]

    def to_json(self) -> dict:
        terms = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        return {
            "kind": "tfidf-logreg",
            "ngram_range": list(NGRAMS),
            "labels": list(self.labels),
            "terms": terms,
            "idf": [round(float(x), 8) for x in self.idf],
            "coef": [[round(float(x), 8) for x in row] for row in self.coef],
            "intercept": [round(float(x), 8) for x in self.intercept],
        }

    @classmethod
    def from_json(cls, obj: dict) -> OfflineJudge:
        vocab = {t: i for i, t in enumerate(obj["terms"])}
        return cls(vocab, np.array(obj["idf"]), np.array(obj["coef"]), np.array(obj["intercept"]), tuple(obj["labels"]))


def load_offline_judge(path: str | Path | None = None) -> OfflineJudge:
    """The judge shipped beside ``emo-tiny`` (or one saved at ``path``)."""
    p = Path(path) if path else EMO_TINY_DIR / JUDGE_FILE
    if not p.is_file():
        raise UserError(
            f"offline judge not found at {p}: retrain it with `python -m circuits.run experiment=train_emo_tiny`"
            " or use judge.kind=keyword"
        )
    return OfflineJudge.from_json(json.loads(p.read_text()))
