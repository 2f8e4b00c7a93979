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
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

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
    """Plain JSON types from numbers, tensors, arrays, tuples and dataclass-like objects."""
    import numpy as np

    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
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


class RunDir:
    """A run directory with a manifest. Artifacts are written through it, never directly."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._manifest_path = self.root / "manifest.json"
        self._metrics_path = self.root / "metrics.json"
        self.manifest: dict[str, Any] = (
            json.loads(self._manifest_path.read_text())
            if self._manifest_path.exists()
            else {"stages": {}, "artifacts": {}}
        )
        self.metrics: dict[str, Any] = (
            json.loads(self._metrics_path.read_text()) if self._metrics_path.exists() else {}
        )
        self._stage: str | None = None

    # --- artifacts ----------------------------------------------------------------------------
    def path(self, rel: str) -> Path:
        return self.root / rel

    def write_bytes(self, rel: str, data: bytes) -> Path:
        path = self.path(rel)
        atomic_write_bytes(path, data)
        self._record(rel, hashlib.sha256(data).hexdigest(), len(data))
        return path

    def write_text(self, rel: str, text: str) -> Path:
        return self.write_bytes(rel, text.encode("utf-8"))

    def write_json(self, rel: str, obj: Any) -> Path:
        return self.write_text(rel, dumps_json(obj))

    def write_jsonl(self, rel: str, rows: list[Mapping[str, Any]]) -> Path:
        return self.write_text(rel, "".join(json.dumps(to_jsonable(r), ensure_ascii=False) + "\n" for r in rows))

    def adopt(self, rel: str) -> Path:
        """Record a file that a library wrote atomically on its own (e.g. via :meth:`tmp_path`)."""
        path = self.path(rel)
        self._record(rel, sha256_file(path), path.stat().st_size)
        return path

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
        entry = self.manifest["stages"].get(name)
        if not entry or entry.get("status") != "done":
            return False
        if config_hash is not None and entry.get("config_hash") != config_hash:
            return False
        return all(self.path(a).exists() for a in entry.get("artifacts", []))

    @contextlib.contextmanager
    def stage(self, name: str, config_hash: str = "") -> Iterator[RunDir]:
        """Mark a stage running; ``done`` when the block ends, ``failed`` (with the error) if it raises."""
        outer = self._stage
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
        self.metrics[section] = to_jsonable(values)
        atomic_write_bytes(self._metrics_path, dumps_json(self.metrics).encode())

    def set_run_info(self, **info: Any) -> None:
        self.manifest.setdefault("run", {}).update(to_jsonable(info))
        self._save_manifest()
