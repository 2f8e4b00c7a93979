"""SEV (Scenario-Event with Valence) data: schema, loader, writer and stratified subsets.

One JSON object per line::

    {"theme": str, "scenario": str,
     "event": {"positive": str, "neutral": str, "negative": str},
     "skeleton_id": str}

A *skeleton* is one line: a neutral first-person scenario and three events that share wording
and differ in outcome. Prompts are skeleton x valence x emotion (as in the study).
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from circuits.emotions import VALENCES
from circuits.errors import UserError

FIELDS = ("theme", "scenario", "event", "skeleton_id")


@dataclass(frozen=True)
class Skeleton:
    """One SEV line: a scenario and its three events."""

    skeleton_id: str
    theme: str
    scenario: str
    positive: str
    neutral: str
    negative: str

    def event(self, valence: str) -> str:
        if valence not in VALENCES:
            raise ValueError(f"unknown valence {valence!r}")
        return getattr(self, valence)

    def to_json(self) -> dict:
        return {
            "theme": self.theme,
            "scenario": self.scenario,
            "event": {v: self.event(v) for v in VALENCES},
            "skeleton_id": self.skeleton_id,
        }


@dataclass(frozen=True)
class SEVSplit:
    """An ordered, immutable collection of skeletons read from one file (or derived from one)."""

    name: str
    skeletons: tuple[Skeleton, ...]
    source: str = field(default="", compare=False)

    def __len__(self) -> int:
        return len(self.skeletons)

    def __iter__(self) -> Iterator[Skeleton]:
        return iter(self.skeletons)

    @property
    def themes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.theme for s in self.skeletons))

    def by_theme(self) -> dict[str, list[Skeleton]]:
        groups: dict[str, list[Skeleton]] = defaultdict(list)
        for s in self.skeletons:
            groups[s.theme].append(s)
        return dict(groups)

    def subset(self, per_theme: int | None, seed: int = 0) -> SEVSplit:
        """A stratified subset: ``per_theme`` skeletons drawn from every theme (None: all).

        Deterministic for a seed; the original order of the file is kept.
        """
        if per_theme is None or all(len(v) <= per_theme for v in self.by_theme().values()):
            return self
        rng = random.Random(seed)
        keep: set[str] = set()
        for _, skels in sorted(self.by_theme().items()):
            ids = sorted(s.skeleton_id for s in skels)
            keep.update(rng.sample(ids, min(per_theme, len(ids))))
        chosen = tuple(s for s in self.skeletons if s.skeleton_id in keep)
        return SEVSplit(f"{self.name}[{per_theme}/theme]", chosen, self.source)

    def select(self, skeleton_ids: Sequence[str], name: str) -> SEVSplit:
        wanted = set(skeleton_ids)
        return SEVSplit(name, tuple(s for s in self.skeletons if s.skeleton_id in wanted), self.source)


def _parse_line(obj: object, where: str) -> Skeleton:
    if not isinstance(obj, dict):
        raise UserError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    missing = [k for k in FIELDS if k not in obj]
    if missing:
        raise UserError(f"{where}: missing field {missing[0]!r} (an SEV line needs {', '.join(FIELDS)})")
    event = obj["event"]
    if not isinstance(event, dict):
        raise UserError(f"{where}: 'event' must be an object with keys {', '.join(VALENCES)}")
    for v in VALENCES:
        if not isinstance(event.get(v), str) or not event[v].strip():
            raise UserError(f"{where}: event.{v} must be a non-empty string")
    for k in ("theme", "scenario", "skeleton_id"):
        if not isinstance(obj[k], str) or not obj[k].strip():
            raise UserError(f"{where}: {k!r} must be a non-empty string")
    return Skeleton(
        skeleton_id=obj["skeleton_id"],
        theme=obj["theme"],
        scenario=obj["scenario"].strip(),
        positive=event["positive"].strip(),
        neutral=event["neutral"].strip(),
        negative=event["negative"].strip(),
    )


MAX_LINE_BYTES = 64 * 1024
"""The longest SEV line accepted (a real skeleton is a few hundred bytes): a longer one is
refused before it is parsed or tokenised."""


def load_sev(path: str | Path, name: str | None = None) -> SEVSplit:
    """Read an SEV JSONL file (UTF-8); schema errors name the file and line."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"SEV file not found: {path} (check data.* paths in the config)")
    skeletons: list[Skeleton] = []
    seen: dict[str, int] = {}
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            where = f"{path}:{lineno}"
            if len(raw) > MAX_LINE_BYTES:
                raise UserError(f"{where}: a line of {len(raw):,} bytes (at most {MAX_LINE_BYTES:,} per skeleton): "
                                "is this an SEV file?")
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise UserError(f"{where}: not UTF-8 (byte {err.start}: {err.reason}): save the file as UTF-8") from None
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                raise UserError(f"{where}: invalid JSON ({err.msg})") from None
            skel = _parse_line(obj, where)
            if skel.skeleton_id in seen:
                raise UserError(
                    f"{where}: duplicate skeleton_id {skel.skeleton_id!r} (first on line {seen[skel.skeleton_id]})"
                )
            seen[skel.skeleton_id] = lineno
            skeletons.append(skel)
    if not skeletons:
        raise UserError(f"{path}: no SEV lines found")
    return SEVSplit(name or path.stem, tuple(skeletons), str(path))


def dumps_sev(skeletons: Sequence[Skeleton]) -> str:
    """The JSONL text of ``skeletons`` (stable key order, one line each)."""
    return "".join(json.dumps(s.to_json(), ensure_ascii=False) + "\n" for s in skeletons)
