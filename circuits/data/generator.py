"""A deterministic generator of the project's own SEV data (from :mod:`circuits.data.templates`).

A skeleton combines, within one *group* of a theme (``themes.json``), a scenario frame, a thing and
an agent into the scenario, and one outcome triple with the same agent and thing into its three
events, so the events differ only in outcome.

Splits are disjoint by construction, whatever the seeds:

- every (scenario frame, thing) combination belongs to exactly one split. Combinations with a
  held-out thing or a held-out frame (``test_things``/``test_scenarios``) are the *test* pool;
  the others are partitioned once, with a fixed seed that does not depend on ``seed``, into a
  *discovery* pool (:data:`DISCOVERY_COMBOS_PER_GROUP` per group) and a *train* pool (the rest);
- so no scenario text, no (frame, thing) pair, and no held-out thing or frame is shared between
  splits, and skeleton ids carry the split (``work_007``, ``work_test_007``, ``work_train_0007``).

``seed`` only chooses which combinations, agents and outcomes of a split's pool are used. Within a
split every scenario text occurs at most once; combinations are used round-robin (every
combination once before any twice, with a different agent), and groups and outcome triples are
balanced.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

from circuits.data.sev import Skeleton, dumps_sev
from circuits.data.templates import EMOTION_WORDS, THEMES, Group, Theme
from circuits.emotions import VALENCES

SPLIT_NAMES: tuple[str, ...] = ("discovery", "test", "train")
PER_THEME: dict[str, int] = {"discovery": 20, "test": 20, "train": 300}
"""Skeletons per theme of each split in :func:`project_splits`."""
DISCOVERY_COMBOS_PER_GROUP = 14
"""(frame, thing) combinations of every group reserved for the discovery split."""
PARTITION_SEED = 20240601
"""Fixed seed of the discovery/train partition (independent of the generation seed)."""
WRITTEN_SPLITS: tuple[str, ...] = ("discovery", "test")

_WORD = re.compile(r"[a-z]+")
_SENTENCE_START = re.compile(r"(^|[.!?]\s+)([a-z])")


@dataclass(frozen=True)
class GeneratedSkeleton:
    """One generated SEV line and the content its replies can copy."""

    skeleton: Skeleton
    """The SEV line."""
    agent: str
    """The agent noun phrase as it appears in the events (lowercase, e.g. "the team")."""
    thing: str
    """The thing noun phrase as it appears in the scenario (e.g. "the project report")."""
    frame: str = ""
    """The scenario frame the scenario was rendered from (with ``{thing}``/``{agent}`` slots)."""


@dataclass(frozen=True)
class _Combo:
    theme_index: int
    group_index: int
    frame: str
    thing: str


def emotion_words_in(text: str) -> set[str]:
    """The words of :data:`EMOTION_WORDS` in ``text`` (word-level, case-insensitive)."""
    return {w for w in _WORD.findall(text.lower()) if w in EMOTION_WORDS}


def capitalise_sentences(text: str) -> str:
    """Upper-case the first letter of every sentence (the start, and after ``.``/``!``/``?``)."""
    return _SENTENCE_START.sub(lambda m: m.group(1) + m.group(2).upper(), text)


def render(frame: str, agent: str, thing: str) -> str:
    """Fill a frame's ``{agent}`` and ``{thing}`` slots; sentence starts are capitalised."""
    text = frame.replace("{agent}", agent).replace("{thing}", thing)
    if "{" in text or "}" in text:
        raise ValueError(f"unfilled slot in frame {frame!r}")
    return capitalise_sentences(text)


def _check_text(text: str, where: str) -> None:
    found = emotion_words_in(text)
    if found:
        raise ValueError(f"emotion word(s) {sorted(found)} in {where}: {text!r}")


def _group(ti: int, gi: int) -> Group:
    return THEMES[ti].groups[gi]


def _combos_by_split() -> dict[str, dict[tuple[int, int], list[_Combo]]]:
    """Every (frame, thing) combination of every group, assigned to exactly one split."""
    pools: dict[str, dict[tuple[int, int], list[_Combo]]] = {s: {} for s in SPLIT_NAMES}
    for ti, theme in enumerate(THEMES):
        for gi, group in enumerate(theme.groups):
            frames = list(group.scenarios) + list(group.test_scenarios)
            things = list(group.things) + list(group.test_things)
            held_frames, held_things = set(group.test_scenarios), set(group.test_things)
            test, rest = [], []
            for frame in frames:
                for thing in things:
                    combo = _Combo(ti, gi, frame, thing)
                    (test if frame in held_frames or thing in held_things else rest).append(combo)
            random.Random(f"{PARTITION_SEED}:{theme.prefix}:{gi}").shuffle(rest)
            pools["test"][(ti, gi)] = test
            pools["discovery"][(ti, gi)] = rest[:DISCOVERY_COMBOS_PER_GROUP]
            pools["train"][(ti, gi)] = rest[DISCOVERY_COMBOS_PER_GROUP:]
    return pools


def _candidates(combos: list[_Combo], agents: tuple[str, ...], rng: random.Random) -> Iterable[tuple[_Combo, str]]:
    """(combination, agent) pairs, round-robin: every combination once before any twice."""
    order = list(combos)
    rng.shuffle(order)
    agent_orders = {}
    for combo in order:
        agent_list = list(agents)
        rng.shuffle(agent_list)
        agent_orders[combo] = agent_list
    for r in range(len(agents)):
        for combo in order:
            yield combo, agent_orders[combo][r]


def _skeleton_id(prefix: str, split: str, index: int) -> str:
    if split == "discovery":
        return f"{prefix}_{index:03d}"
    if split == "test":
        return f"{prefix}_test_{index:03d}"
    return f"{prefix}_train_{index:04d}"


def generate(n_per_theme: int, seed: int, split: str, exclude: Collection[str] = ()) -> list[GeneratedSkeleton]:
    """``n_per_theme`` skeletons of every theme, drawn from the pool of ``split``.

    Deterministic for (``n_per_theme``, ``seed``, ``split``, ``exclude``). ``exclude`` holds
    scenario texts to leave out (compared case- and whitespace-insensitively). Raises
    ``ValueError`` when a theme's pool cannot supply ``n_per_theme`` distinct scenarios.
    """
    if split not in SPLIT_NAMES:
        raise ValueError(f"unknown split {split!r}: choose from {', '.join(SPLIT_NAMES)}")
    if n_per_theme < 0:
        raise ValueError("n_per_theme must be >= 0")
    excluded = {" ".join(s.lower().split()) for s in exclude}
    pools = _combos_by_split()[split]
    out: list[GeneratedSkeleton] = []
    for ti, theme in enumerate(THEMES):
        rng = random.Random(f"{seed}:{split}:{theme.prefix}")
        group_ids = [key for key in pools if key[0] == ti]
        streams = {key: iter(_candidates(pools[key], _group(*key).agents, rng)) for key in group_ids}
        outcome_orders: dict[tuple[int, int], list[int]] = {key: [] for key in group_ids}
        seen: set[str] = set()
        chosen: list[GeneratedSkeleton] = []
        while len(chosen) < n_per_theme and streams:
            for key in list(streams):
                if len(chosen) >= n_per_theme:
                    break
                skel = _next_skeleton(streams, key, seen, excluded, outcome_orders, rng, theme, split, len(chosen))
                if skel is not None:
                    chosen.append(skel)
        if len(chosen) < n_per_theme:
            raise ValueError(
                f"the {split} pool of theme {theme.name!r} holds only {len(chosen)} distinct scenarios, "
                f"{n_per_theme} were asked for"
            )
        out.extend(chosen)
    return out


def _next_skeleton(streams, key, seen, excluded, outcome_orders, rng, theme: Theme, split, index):
    """The next usable skeleton of group ``key``, or None (and the group dropped) when it is spent."""
    group = _group(*key)
    for combo, agent in streams[key]:
        scenario = render(combo.frame, agent, combo.thing)
        norm = " ".join(scenario.lower().split())
        if norm in seen or norm in excluded:
            continue
        seen.add(norm)
        if not outcome_orders[key]:
            order = list(range(len(group.outcomes)))
            rng.shuffle(order)
            outcome_orders[key] = order
        outcome = group.outcomes[outcome_orders[key].pop()]
        events = {v: render(frame, agent, combo.thing) for v, frame in zip(VALENCES, outcome)}
        sid = _skeleton_id(theme.prefix, split, index)
        for text, where in [(scenario, "scenario")] + [(events[v], f"{v} event") for v in VALENCES]:
            _check_text(text, f"{sid} {where}")
        skeleton = Skeleton(sid, theme.name, scenario, events["positive"], events["neutral"], events["negative"])
        return GeneratedSkeleton(skeleton, agent, combo.thing, combo.frame)
    del streams[key]
    return None


def project_splits(seed: int = 0) -> dict[str, list[GeneratedSkeleton]]:
    """The project's three splits: ``discovery`` and ``test`` (20 per theme), ``train`` (300)."""
    return {name: generate(PER_THEME[name], seed, name) for name in SPLIT_NAMES}


def write_project_splits(directory: Path, seed: int = 0) -> None:
    """Write ``discovery.jsonl`` and ``test.jsonl`` (SEV format) into ``directory``, atomically."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    splits = project_splits(seed)
    for name in WRITTEN_SPLITS:
        path = directory / f"{name}.jsonl"
        tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
        with tmp.open("w", encoding="utf-8", newline="\n") as fh:
            fh.write(dumps_sev([g.skeleton for g in splits[name]]))
        os.replace(tmp, path)
