"""Synthetic replies for training and measuring the offline judge.

The judge learns from replies rendered from the testbed's reply templates with the content of
the *discovery* skeletons, and is measured on replies rendered with the *test* skeletons' content
(content it never saw). A second judge, trained without a held-out share of the phrasings of
every (label, valence) cell, is measured on exactly those phrasings: that number says how well
the judge generalises to wordings it was not trained on.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from circuits.data.generator import GeneratedSkeleton, project_splits
from circuits.emotions import EMOTIONS, NEUTRAL, VALENCES
from circuits.testbed.replies import EMOTION_REPLIES, NEUTRAL_REPLIES, render_reply, split_templates

LABELS = EMOTIONS + (NEUTRAL,)


def _cells(emotion_replies: dict, neutral_replies: dict) -> dict[tuple[str, str], Sequence[str]]:
    cells = {(e, v): emotion_replies[(e, v)] for e in EMOTIONS for v in VALENCES}
    cells.update({(NEUTRAL, v): neutral_replies[v] for v in VALENCES})
    return cells


def render_dataset(
    skeletons: Sequence[GeneratedSkeleton],
    cells: dict[tuple[str, str], Sequence[str]],
    per_cell_and_skeleton: int,
    seed: int,
) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    texts, labels = [], []
    for skel in skeletons:
        for (label, _valence), templates in sorted(cells.items()):
            for template in rng.sample(list(templates), min(per_cell_and_skeleton, len(templates))):
                texts.append(render_reply(template, skel.agent, skel.thing))
                labels.append(label)
    return texts, labels


def judge_datasets(seed: int = 0, holdout_per_cell: int = 2, per_cell: int = 2) -> dict[str, tuple[list[str], list[str]]]:
    """``train`` (all phrasings, discovery content), ``test`` (all phrasings, test content),
    ``train_seen``/``test_heldout`` (phrasings split per cell, for the generalisation estimate)."""
    splits = project_splits(seed)
    all_cells = _cells(EMOTION_REPLIES, NEUTRAL_REPLIES)
    seen_e, held_e = split_templates(seed, holdout_per_cell)
    seen = {k: v for k, v in _cells(*_as_pair(seen_e)).items()}
    held = {k: v for k, v in _cells(*_as_pair(held_e)).items()}
    return {
        "train": render_dataset(splits["discovery"], all_cells, per_cell, seed),
        "test": render_dataset(splits["test"], all_cells, per_cell, seed + 1),
        "train_seen": render_dataset(splits["discovery"], seen, per_cell, seed + 2),
        "test_heldout": render_dataset(splits["test"], held, per_cell, seed + 3),
    }


def _as_pair(cells: dict) -> tuple[dict, dict]:
    """Split ``split_templates``' per-cell dict into (emotion cells, neutral cells)."""
    emotion = {k: v for k, v in cells.items() if k[0] in EMOTIONS}
    neutral = {k[1]: v for k, v in cells.items() if k[0] == NEUTRAL}
    return emotion, neutral
