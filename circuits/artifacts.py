"""Run directories: atomic artifacts, a manifest of stages and checksums, headline metrics.

Every run writes into its own directory::

    config.yaml     the resolved configuration
    manifest.json   each stage (status, config hash, timings, artifacts) and each artifact's sha256
    metrics.json    headline numbers, one section per stage
    <stage>/...     the stage's artifacts

Each file is written to a temporary name in the same directory and renamed into place, so a
killed run never leaves a half-written file under a final name; a stage is marked ``done`` only
after all its artifacts are in place, so a reader trusts only what the manifest calls done.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import enum
import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from circuits.errors import UserError
from circuits.layout import MANIFEST, METRICS, Artifact

log = logging.getLogger(__name__)

_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file in the same directory + rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def to_jsonable(obj: Any) -> Any:
    """Plain JSON types from numbers, tensors, arrays, tuples, enums (their value) and mappings."""
    import numpy as np

    if isinstance(obj, enum.Enum):
        return to_jsonable(obj.value)
    if isinstance(obj, Mapping):
        return {str(k.value if isinstance(k, enum.Enum) else k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if hasattr(obj, "tolist"):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        return None if f != f else round(f, 6)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    return obj


def dumps_json(obj: Any) -> str:
    return json.dumps(to_jsonable(obj), indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


class RunReader:
    """Read access to a run directory: its manifest, metrics, and each stage's artifacts.

    It only reads (a missing manifest or metrics file reads as empty), so it serves finished,
    partial and failed runs alike: stage reloading, the summary and the report all read through
    it, at the paths :mod:`circuits.layout` declares.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.manifest: dict[str, Any] = self._read_json(MANIFEST, ("stages", "artifacts")) or {"stages": {}, "artifacts": {}}
        self.metrics: dict[str, Any] = self._read_json(METRICS) or {}

    def _read_json(self, rel: str, keys: tuple[str, ...] = ()) -> Any:
        """A JSON object of the run directory (None when the file is absent); a damaged one is
        a :class:`UserError` that names it."""
        path = self.root / rel
        if not path.exists():
            return None
        try:
            obj = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(obj, dict) or any(not isinstance(obj.get(k), dict) for k in keys):
                raise ValueError(f"not the JSON object a run writes{' (with ' + ', '.join(keys) + ')' if keys else ''}")
        except (ValueError, UnicodeDecodeError) as err:
            raise UserError(f"{path} is damaged ({str(err).splitlines()[0]}): delete it, and the stages it "
                            "recorded run again, or choose another out_dir") from None
        return obj

    @property
    def info(self) -> dict[str, Any]:
        """What the run recorded about itself: experiment, model, stages, device, torch version."""
        return self.manifest.get("run", {})

    def path(self, rel: str) -> Path:
        return self.root / rel

    def exists(self, rel: str) -> bool:
        return self.path(rel).exists()

    def read_text(self, rel: str) -> str:
        return self.path(rel).read_text(encoding="utf-8")

    def read_json(self, rel: str) -> Any:
        return json.loads(self.read_text(rel))

    def read_jsonl(self, rel: str) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.read_text(rel).splitlines() if line.strip()]

    def stage_entry(self, stage: str) -> dict[str, Any]:
        """The manifest's entry of ``stage`` (status, config hash, timing, artifacts), or {}."""
        return self.manifest["stages"].get(str(stage), {})

    def done(self, stage: str) -> bool:
        return self.stage_entry(stage).get("status") == "done"

    def changed(self, stage: str) -> list[str]:
        """The stage's artifacts (and its metrics section) that are missing or no longer match
        the sha256 recorded when they were written."""
        entry = self.stage_entry(stage)
        bad = []
        for rel in entry.get("artifacts", []):
            recorded = self.manifest["artifacts"].get(rel, {}).get("sha256")
            if not self.path(rel).is_file() or recorded != sha256_file(self.path(rel)):
                bad.append(rel)
        recorded = entry.get("metrics_sha256")
        if recorded is not None and recorded != _section_sha(self.metrics.get(str(stage))):
            bad.append(f"{METRICS}[{stage}]")
        return bad

    def artifacts(self, stage: str) -> list[str]:
        """The stage's artifacts that exist: those the manifest lists, else whatever its folder holds."""
        listed = self.stage_entry(stage).get("artifacts") or []
        if listed:
            return [a for a in listed if self.exists(a)]
        folder = self.root / str(stage)
        return sorted(str(p.relative_to(self.root)) for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []


def _section_sha(section: Any) -> str | None:
    """The sha256 of one metrics section as it is stored (None for an absent section)."""
    if section is None:
        return None
    return hashlib.sha256(json.dumps(section, sort_keys=True).encode()).hexdigest()


class RunDir(RunReader):
    """A run directory with a manifest. Artifacts are written through it, never directly."""

    def __init__(self, root: str | Path) -> None:
        Path(root).mkdir(parents=True, exist_ok=True)
        super().__init__(root)
        self._manifest_path = self.root / MANIFEST
        self._metrics_path = self.root / METRICS
        self._stage: str | None = None

    # --- artifacts ----------------------------------------------------------------------------
    def write_bytes(self, rel: str, data: bytes) -> Path:
        path = self.path(rel)
        atomic_write_bytes(path, data)
        self._record(rel, hashlib.sha256(data).hexdigest(), len(data))
        return path

    def write_text(self, rel: str, text: str) -> Path:
        return self.write_bytes(rel, text.encode("utf-8"))

    def write_json(self, rel: str, obj: Any) -> Path:
        return self.write_text(rel, dumps_json(obj))

    def write_jsonl(self, rel: str, rows: Iterable[Any]) -> Path:
        """One JSON object a line: mappings, or records with a ``to_json()`` method."""
        return self.write_text(rel, "".join(json.dumps(to_jsonable(r.to_json() if hasattr(r, "to_json") else r),
                                                      ensure_ascii=False) + "\n" for r in rows))

    def adopt(self, rel: str) -> Path:
        """Record a file that a library wrote atomically on its own (e.g. via :meth:`tmp_path`)."""
        path = self.path(rel)
        self._record(rel, sha256_file(path), path.stat().st_size)
        return path

    def save(self, artifact: Artifact, obj: Any, **values: object) -> Path:
        """Write a result object through its own ``obj.save(path)`` (atomic, e.g. tensors plus
        JSON metadata) at ``artifact``'s path, and record each of its files."""
        stem = artifact.path(**values)
        obj.save(self.path(stem))
        for suffix in artifact.suffixes:
            self.adopt(stem + suffix)
        return self.path(stem)

    @contextlib.contextmanager
    def tmp_path(self, rel: str) -> Iterator[Path]:
        """A temporary path that becomes ``rel`` when the block ends without error."""
        final = self.path(rel)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(f".{final.name}.tmp{final.suffix}")
        try:
            yield tmp
            os.replace(tmp, final)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        self.adopt(rel)

    def save_figure(self, rel: str, fig: Any, dpi: int = 110) -> Path:
        """Save a matplotlib figure as PNG (deterministic: no timestamp metadata) and close it."""
        import io

        import matplotlib.pyplot as plt

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
        plt.close(fig)
        return self.write_bytes(rel, buf.getvalue())

    def _record(self, rel: str, sha: str, size: int) -> None:
        self.manifest["artifacts"][rel] = {"sha256": sha, "bytes": size, "stage": self._stage}
        if self._stage is not None:
            arts = self.manifest["stages"][self._stage].setdefault("artifacts", [])
            if rel not in arts:
                arts.append(rel)
        self._save_manifest()

    def _save_manifest(self) -> None:
        atomic_write_bytes(self._manifest_path, dumps_json(self.manifest).encode())

    # --- stages and metrics -------------------------------------------------------------------
    def stage_done(self, name: str, config_hash: str | None = None) -> bool:
        """Whether the stage finished with this configuration and everything it wrote is as it
        wrote it (each artifact and its metrics section against the sha256 in the manifest)."""
        entry = self.manifest["stages"].get(str(name))
        if not entry or entry.get("status") != "done":
            return False
        if config_hash is not None and entry.get("config_hash") != config_hash:
            return False
        changed = self.changed(name)
        if changed:
            log.warning("stage %s: %s changed since the stage wrote %s (sha256 differs from the manifest): "
                        "recomputing it", name, ", ".join(changed), "it" if len(changed) == 1 else "them")
        return not changed

    def mark_stale(self, stages: Iterable[str], reason: str) -> None:
        """Stages that are done but no longer hold (an input changed, or the configuration did)
        become ``stale``: readers and reruns no longer trust them."""
        marked = [str(s) for s in stages if self.done(s)]
        for name in marked:
            self.manifest["stages"][name].update(status="stale", stale_because=reason)
        if marked:
            log.info("marked stale (%s): %s", reason, ", ".join(marked))
            self._save_manifest()

    @contextlib.contextmanager
    def stage(self, name: str, config_hash: str = "") -> Iterator[RunDir]:
        """Mark a stage running; ``done`` when the block ends, ``failed`` (with the error) if it raises."""
        outer = self._stage
        name = str(name)
        self._stage = name
        start = time.perf_counter()
        self.manifest["stages"][name] = {
            "status": "running",
            "config_hash": config_hash,
            "started": _now(),
            "artifacts": [],
        }
        self._save_manifest()
        try:
            yield self
        except BaseException as err:
            entry = self.manifest["stages"][name]
            entry.update(status="failed", error=f"{type(err).__name__}: {err}"[:500], finished=_now())
            self._save_manifest()
            raise
        finally:
            self._stage = outer
        entry = self.manifest["stages"][name]
        entry.update(status="done", finished=_now(), seconds=round(time.perf_counter() - start, 2))
        self._save_manifest()

    def add_metrics(self, section: str, values: Mapping[str, Any]) -> None:
        """Write ``values`` as the ``section`` of ``metrics.json``; inside a stage of that name,
        its sha256 goes to the stage's manifest entry, so a damaged section is not reused."""
        self.metrics[str(section)] = to_jsonable(values)
        atomic_write_bytes(self._metrics_path, dumps_json(self.metrics).encode())
        if self._stage == str(section):
            stored = json.loads(dumps_json(self.metrics[str(section)]))
            self.manifest["stages"][self._stage]["metrics_sha256"] = _section_sha(stored)
            self._save_manifest()

    def set_run_info(self, **info: Any) -> None:
        self.manifest.setdefault("run", {}).update(to_jsonable(info))
        self._save_manifest()
