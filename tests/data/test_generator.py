"""The project's SEV generator and its data file: determinism, counts, disjoint splits, no emotion words,
shipped files; ``themes.json`` loaded strictly into frozen dataclasses."""

from __future__ import annotations

import dataclasses
import json
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
from circuits.data.prompts import build_prompts
from circuits.data.sev import dumps_sev, load_sev
from circuits.data.templates import (
    EMOTION_WORDS,
    THEMES,
    THEMES_FILE,
    Group,
    TemplateData,
    TemplateFileError,
    Theme,
    load_templates,
    read_templates,
)
from circuits.emotions import EMOTIONS, VALENCES
from circuits.paths import PROJECT_SEV_DIR
from circuits.vocab import Template

SPLITS = ("discovery", "test", "train")


@pytest.fixture(scope="module")
def splits() -> dict[str, list[GeneratedSkeleton]]:
    return project_splits(0)


def _texts(g: GeneratedSkeleton) -> list[str]:
    s = g.skeleton
    return [s.scenario, s.positive, s.neutral, s.negative]


def test_generation_is_deterministic_for_a_seed():
    assert project_splits(0) == project_splits(0)
    assert generate(5, 3, "train") == generate(5, 3, "train")
    assert generate(20, 1, "discovery") != generate(20, 2, "discovery")


def test_every_theme_has_the_same_count_in_every_split(splits):
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


def test_skeleton_ids_are_unique_and_name_their_split(splits):
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
    held_things = {t for theme in THEMES for g in theme.groups for t in g.test_things}
    held_frames = {f for theme in THEMES for g in theme.groups for f in g.test_scenarios}
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


def test_things_and_prefixes_are_unique_across_themes():
    things = [t for theme in THEMES for g in theme.groups for t in g.things + g.test_things]
    assert len(set(things)) == len(things)
    prefixes = [theme.prefix for theme in THEMES]
    assert len(set(prefixes)) == len(prefixes)
    names = [theme.name for theme in THEMES]
    assert len(set(names)) == len(names)


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


def test_scenarios_and_events_have_10_to_25_words(splits):
    for name in SPLITS:
        for g in splits[name]:
            for text in _texts(g):
                assert 10 <= len(text.split()) <= 25, text


def test_no_emotion_word_or_slot_in_scenarios_and_events(splits):
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


def test_excluded_scenarios_are_not_generated():
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


def test_write_project_splits_writes_discovery_and_test_as_generated(tmp_path: Path, splits):
    write_project_splits(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["discovery.jsonl", "test.jsonl"]
    for name in ("discovery", "test"):
        text = (tmp_path / f"{name}.jsonl").read_text(encoding="utf-8")
        assert text == dumps_sev([g.skeleton for g in splits[name]])


# ---------------------------------------------------------------- themes.json and its loader

THEMES_PATH = Path(__file__).resolve().parents[2] / "circuits" / "data" / THEMES_FILE


def _field_names(cls) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def test_themes_json_has_exactly_the_dataclass_fields_in_their_order():
    raw = json.loads(THEMES_PATH.read_text(encoding="utf-8"))
    assert list(raw) == _field_names(TemplateData)
    for theme in raw["themes"]:
        assert list(theme) == _field_names(Theme)
        for group in theme["groups"]:
            assert list(group) == _field_names(Group)
    assert len(raw["emotion_words"]) == len(set(raw["emotion_words"])) == len(EMOTION_WORDS)


def test_themes_json_is_pretty_printed_utf8_ending_with_a_newline():
    text = THEMES_PATH.read_bytes().decode("utf-8")
    assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"


def test_loaded_templates_are_frozen_dataclasses_with_typed_fields():
    data = load_templates()
    assert isinstance(data, TemplateData) and isinstance(data.themes, tuple)
    assert THEMES is data.themes and EMOTION_WORDS is data.emotion_words
    assert isinstance(EMOTION_WORDS, frozenset) and all(isinstance(w, str) for w in EMOTION_WORDS)
    for theme in THEMES:
        assert isinstance(theme, Theme) and isinstance(theme.name, str) and isinstance(theme.prefix, str)
        assert isinstance(theme.groups, tuple) and theme.groups
        for group in theme.groups:
            assert isinstance(group, Group) and isinstance(group.kind, str)
            for name in ("agents", "things", "test_things", "scenarios", "test_scenarios"):
                pool = getattr(group, name)
                assert isinstance(pool, tuple) and pool and all(isinstance(x, str) for x in pool), name
            assert isinstance(group.outcomes, tuple)
            for triple in group.outcomes:
                assert isinstance(triple, tuple) and len(triple) == 3 and all(isinstance(x, str) for x in triple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        THEMES[0].prefix = "other"  # type: ignore[misc]


def test_groups_have_the_documented_sizes():
    """The module docstring: two groups per theme; 6 agents, 9 things (+2 held out), 6 scenario
    frames (+1 held out), 6 outcome triples per group."""
    assert len(THEMES) == 10
    for theme in THEMES:
        assert len(theme.groups) == 2
        for g in theme.groups:
            sizes = (len(g.agents), len(g.things), len(g.test_things), len(g.scenarios), len(g.test_scenarios))
            assert sizes + (len(g.outcomes),) == (6, 9, 2, 6, 1, 6), (theme.name, g.kind)


def test_load_templates_reads_the_file_once():
    assert load_templates() is load_templates()
    assert read_templates() == load_templates()  # an uncached re-read gives equal content


@pytest.mark.parametrize(
    "change,field,problem",
    [
        (lambda r: r["themes"][1]["groups"][0].update(colour="red"), "themes[1].groups[0].colour", "unknown field"),
        (lambda r: r["themes"][0]["groups"][1].pop("test_things"), "themes[0].groups[1].test_things", "missing field"),
        (lambda r: r["themes"][2].pop("prefix"), "themes[2].prefix", "missing field"),
        (lambda r: r.update(version=2), "version", "unknown field"),
        (lambda r: r.pop("emotion_words"), "emotion_words", "missing field"),
        (lambda r: r["themes"][0].update(name=["Work"]), "themes[0].name", "expected a string"),
        (lambda r: r["themes"][0]["groups"][0].update(agents="my manager"), "themes[0].groups[0].agents", "expected a list"),
        (lambda r: r["themes"][0]["groups"][0]["outcomes"][3].pop(), "themes[0].groups[0].outcomes[3]", "expected 3 items"),
        (lambda r: r["themes"][3]["groups"][0]["things"].append(7), "themes[3].groups[0].things[9]", "expected a string"),
        (lambda r: r["emotion_words"].append("angry"), "emotion_words", "repeated entries"),
    ],
)
def test_read_templates_rejects_bad_files_naming_file_and_field(modified_copy, change, field, problem):
    path = modified_copy(THEMES_PATH, change)
    with pytest.raises(TemplateFileError) as info:
        read_templates(path)
    assert str(info.value).startswith(f"{path}: {field}: {problem}"), str(info.value)


def test_read_templates_rejects_invalid_json(tmp_path: Path):
    path = tmp_path / "themes.json"
    path.write_text('{"themes": [', encoding="utf-8")
    with pytest.raises(TemplateFileError, match="not valid JSON"):
        read_templates(path)
