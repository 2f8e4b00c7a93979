"""Linear probes: can a logistic regression read the emotion off an activation?

Cross-validation is *grouped by skeleton*: a probe is always scored on scenarios it never saw,
so it must find the emotion, not memorise situations. Chance is 1 / n_classes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from jaxtyping import Float


def probe_accuracy(
    X: Float[np.ndarray, "sample feature"],
    labels: Sequence[str],
    groups: Sequence[str],
    folds: int = 5,
    C: float = 1.0,
    seed: int = 0,
) -> float:
    """Mean held-out accuracy of a standardised logistic-regression probe, grouped K-fold."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(labels)
    g = np.asarray(groups)
    n_groups = len(set(g.tolist()))
    k = min(folds, n_groups)
    correct = 0
    for train, test in GroupKFold(n_splits=k).split(X, y, g):
        clf = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000, random_state=seed))
        clf.fit(X[train], y[train])
        correct += int((clf.predict(X[test]) == y[test]).sum())
    return correct / len(y)
