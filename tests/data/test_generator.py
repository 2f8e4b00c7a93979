"""The project's SEV generator: determinism, counts, disjoint splits, no emotion words, shipped files."""

from __future__ import annotations

import re
from itertools import combinations
from pathlib import Path

import pytest

from circuits.data.generator import (
    GeneratedSkeleton,
    emotion_words_in,
    generate,
    project_splits,
    write_project_splits,
)
from circuits.data.prompts import Template, build_prompts
from circuits.data.sev import dumps_sev, load_sev
from circuits.data.templates import EMOTION_WORDS, THEMES
from circuits.emotions import EMOTIONS, VALENCES
from circuits.paths import PROJECT_SEV_DIR

SPLITS = ("discovery", "test", "train")


@pytest.fixture(scope="module")
def splits() -> dict[str, list[GeneratedSkeleton]]:
    return project_splits(0)


def _texts(g: GeneratedSkeleton) -> list[str]:
    s = g.skeleton
    return [s.scenario, s.positive, s.neutral, s.negative]


def test_deterministic():
    assert project_splits(0) == project_splits(0)
    assert generate(5, 3, "train") == generate(5, 3, "train")
    assert generate(20, 1, "discovery") != generate(20, 2, "discovery")


def test_counts(splits):
    assert len(THEMES) >= 8
    n_themes = len(THEMES)
    assert len(splits["discovery"]) == 20 * n_themes >= 160
    assert len(splits["test"]) == 20 * n_themes >= 160
    assert len(splits["train"]) >= 300 * n_themes
    for name in SPLITS:
        per_theme = {}
        for g in splits[name]:
            per_theme[g.skeleton.theme] = per_theme.get(g.skeleton.theme, 0) + 1
        assert len(per_theme) == n_themes
        assert len(set(per_theme.values())) == 1


def test_skeleton_ids(splits):
    patterns = {
        "discovery": r"[a-z]+_\d{3}",
        "test": r"[a-z]+_test_\d{3}",
        "train": r"[a-z]+_train_\d{4}",
    }
    for name, pattern in patterns.items():
        ids = [g.skeleton.skeleton_id for g in splits[name]]
        assert len(set(ids)) == len(ids)
        assert all(re.fullmatch(pattern, i) for i in ids), name


def test_scenarios_unique_within_split(splits):
    for name in SPLITS:
        scenarios = [g.skeleton.scenario for g in splits[name]]
        assert len(set(scenarios)) == len(scenarios), name


def test_splits_pairwise_disjoint(splits):
    for a, b in combinations(SPLITS, 2):
        assert not {g.skeleton.skeleton_id for g in splits[a]} & {g.skeleton.skeleton_id for g in splits[b]}
        assert not {g.skeleton.scenario for g in splits[a]} & {g.skeleton.scenario for g in splits[b]}
        combos_a = {(g.frame, g.thing) for g in splits[a]}
        combos_b = {(g.frame, g.thing) for g in splits[b]}
        assert not combos_a & combos_b, (a, b)


def test_splits_disjoint_for_different_seeds():
    disc = generate(20, 1, "discovery")
    train = generate(300, 2, "train")
    test = generate(20, 3, "test")
    for a, b in combinations((disc, train, test), 2):
        assert not {(g.frame, g.thing) for g in a} & {(g.frame, g.thing) for g in b}


def test_held_out_content_only_in_test(splits):
    held_things = {t for theme in THEMES for g in theme["groups"] for t in g["test_things"]}
    held_frames = {f for theme in THEMES for g in theme["groups"] for f in g["test_scenarios"]}
    assert held_things and held_frames
    for name in ("discovery", "train"):
        assert not {g.thing for g in splits[name]} & held_things
        assert not {g.frame for g in splits[name]} & held_frames
        for g in splits[name]:
            for text in _texts(g):
                assert not any(t in text for t in held_things)
    # every test skeleton shows unseen content, and all of it is used
    assert all(g.thing in held_things or g.frame in held_frames for g in splits["test"])
    assert {g.thing for g in splits["test"]} >= held_things
    assert {g.frame for g in splits["test"]} >= held_frames


def test_things_unique_across_templates():
    things = [t for theme in THEMES for g in theme["groups"] for t in list(g["things"]) + list(g["test_things"])]
    assert len(set(things)) == len(things)
    prefixes = [theme["prefix"] for theme in THEMES]
    assert len(set(prefixes)) == len(prefixes)


def test_events_share_agent_and_thing(splits):
    for name in SPLITS:
        for g in splits[name]:
            s = g.skeleton
            assert g.agent == g.agent.lower()
            assert g.thing in s.scenario
            for v in VALENCES:
                event = s.event(v)
                assert g.thing in event
                assert g.agent in event.lower()
                assert event[0].isupper() and event.endswith(".")
            assert s.scenario[0].isupper()
            assert len({s.positive, s.neutral, s.negative}) == 3


def test_lengths(splits):
    for name in SPLITS:
        for g in splits[name]:
            for text in _texts(g):
                assert 10 <= len(text.split()) <= 25, text


def test_no_emotion_words(splits):
    assert len(EMOTION_WORDS) >= 60
    assert all(w == w.lower() for w in EMOTION_WORDS)
    for name in SPLITS:
        for g in splits[name]:
            for text in _texts(g):
                assert not emotion_words_in(text), text
                assert "{" not in text and "}" not in text


def test_emotion_word_check_is_word_level():
    assert emotion_words_in("The Team was FURIOUS.") == {"furious"}
    assert emotion_words_in("the madness") == set()  # "mad" only as a whole word


def test_generate_rejects_bad_arguments():
    with pytest.raises(ValueError):
        generate(5, 0, "validation")
    with pytest.raises(ValueError):
        generate(10_000, 0, "discovery")


def test_exclude_scenarios():
    first = generate(3, 0, "discovery")
    again = generate(3, 0, "discovery", exclude=[g.skeleton.scenario.upper() for g in first])
    assert not {g.skeleton.scenario for g in first} & {g.skeleton.scenario for g in again}


@pytest.mark.parametrize("name", ["discovery", "test"])
def test_shipped_files_match_generation(splits, name):
    path = PROJECT_SEV_DIR / f"{name}.jsonl"
    assert path.read_bytes() == dumps_sev([g.skeleton for g in splits[name]]).encode("utf-8")
    sev = load_sev(path)
    assert len(sev) == len(splits[name]) == 20 * len(THEMES)
    assert len(sev.themes) == len(THEMES)
    assert [s.skeleton_id for s in sev] == [g.skeleton.skeleton_id for g in splits[name]]


@pytest.mark.parametrize("name", ["discovery", "test"])
def test_shipped_files_give_prompts(name):
    sev = load_sev(PROJECT_SEV_DIR / f"{name}.jsonl")
    prompts = build_prompts(lambda messages: repr(messages), sev, EMOTIONS, Template.SYSTEM)
    assert len(prompts) == len(sev) * len(VALENCES) * len(EMOTIONS) == 18 * 20 * len(THEMES)
    # the study's budget: 160 skeletons x 3 valences x 6 emotions = 2,880 prompts per split,
    # a stratified subset of 16 per theme (10 themes) or the full split with 8 themes
    subset = sev.subset(160 // len(THEMES)) if 160 % len(THEMES) == 0 else sev
    if len(subset) == 160:
        assert len(build_prompts(lambda m: "", subset, EMOTIONS, Template.SYSTEM)) == 2_880


def test_write_project_splits(tmp_path: Path, splits):
    write_project_splits(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["discovery.jsonl", "test.jsonl"]
    for name in ("discovery", "test"):
        text = (tmp_path / f"{name}.jsonl").read_text(encoding="utf-8")
        assert text == dumps_sev([g.skeleton for g in splits[name]])
