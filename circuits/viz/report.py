"""The run report: one self-contained ``report.html`` with everything a run directory holds.

:func:`build_report` reads a run directory (``manifest.json``, ``metrics.json``, ``config.yaml``
and each stage's artifacts) and returns one HTML document that opens offline from anywhere:

- the stages and their status, with links to the configuration, manifest and metrics;
- per stage: every PNG figure embedded as a base64 data URI, every markdown table rendered
  as an HTML table, the stage's metrics as tables, and relative links to all its artifacts
  (they resolve when ``report.html`` sits in the run directory, where the stage writes it);
- the interactive views of :mod:`circuits.viz.views` built from the artifacts: tokens coloured
  by emotion direction (``directions``), each circuit's graph, the attention patterns of its
  heads and the top activating prompts of its top neurons (``circuits``), and the replies with
  and without modulation (``modulate``).

It only reads. A stage that did not run, or failed, contributes what it left (or nothing), so a
run of a few stages still gets a report of what exists. The views that run the model load it
(the one named in ``config.yaml``, via :func:`circuits.model.loading.load_model`) only when the
run has directions or circuits to show, unless a loaded model is passed in.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from circuits.emotions import VALENCES
from circuits.viz.views import CSS, View, bundle_script

log = logging.getLogger(__name__)

REPORT_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1280px;padding:12px 24px;color:#222}
h1{font-size:22px}h2{font-size:18px;border-bottom:2px solid #ddd;padding-bottom:3px;margin-top:34px}
h3{font-size:15px;margin:18px 0 6px}
table.md{border-collapse:collapse;margin:6px 0 12px;font-size:12px}
table.md th,table.md td{border:1px solid #ccc;padding:3px 7px;text-align:right}
table.md th{background:#f2f2f2}table.md td:first-child,table.md th:first-child{text-align:left}
figure{margin:10px 0 18px}figure img{max-width:100%;border:1px solid #eee}figcaption{font-size:12px;color:#555}
.status-done{color:#137333}.status-failed{color:#b3261e}.status-running{color:#a06000}
.muted{color:#666}details{margin:6px 0}summary{cursor:pointer}ul.files{columns:3;font-size:12px}
"""

VIEW_STAGES = ("directions", "circuits")
"""Stages whose views run the model."""


# --- markdown and metrics as HTML ------------------------------------------------------------------
def _anchor(rel: str) -> str:
    """The id of an embedded figure in the report."""
    return "fig-" + re.sub(r"[^A-Za-z0-9]+", "-", rel).strip("-")


def _inline(text: str, figures: Collection[str] = ()) -> str:
    """Escape a line of markdown and apply its inline markup: images (a link to the figure,
    which the report embeds in its stage's section, else to the file), links, bold and code."""
    out = html.escape(text.strip())

    def image(m: re.Match) -> str:
        alt, src = m.group(1), m.group(2)
        href = f"#{_anchor(html.unescape(src))}" if html.unescape(src) in figures else src
        return f'<a class="figref" href="{href}">figure: {alt}</a>'

    out = re.sub(r"!\[([^\]]*)\]\(([^)\s]+)\)", image, out)
    out = re.sub(r"(?<![\w>])\[([^\]]+)\]\(([^)\s]+)\)", r'<a href="\2">\1</a>', out)
    out = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", out)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", out)


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def markdown_html(text: str, figures: Collection[str] = ()) -> str:
    """The markdown the stages write (headings, pipe tables, paragraphs, images and links) as
    HTML; an image whose path is in ``figures`` links to that figure in the report."""
    out: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith("|"):
            block = []
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                block.append(lines[i])
                i += 1
            rows = [_cells(r) for r in block if not re.fullmatch(r"\s*\|[\s|:-]*\|\s*", r)]
            head, body = rows[0], rows[1:]
            out.append('<table class="md"><thead><tr>' + "".join(f"<th>{_inline(c, figures)}</th>" for c in head)
                       + "</tr></thead><tbody>" + "".join("<tr>" + "".join(f"<td>{_inline(c, figures)}</td>" for c in r)
                                                        + "</tr>" for r in body) + "</tbody></table>")
            continue
        heading = re.fullmatch(r"\s*(#{1,4})\s+(.*)", line)
        if heading:
            level = len(heading.group(1)) + 2  # under the report's stage (h2) and file (h3) headings
            out.append(f"<h{level}>{_inline(heading.group(2), figures)}</h{level}>")
        elif line.strip():
            out.append(f"<p>{_inline(line, figures)}</p>")
        i += 1
    return "\n".join(out)


def _scalar(x: Any) -> bool:
    return x is None or isinstance(x, (str, int, float, bool))


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.4g}"
    return "" if x is None else html.escape(str(x))


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    return ('<table class="md"><thead><tr>' + "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
            + "</tr></thead><tbody>" + "".join("<tr>" + "".join(f"<td>{_fmt(c)}</td>" for c in r) + "</tr>" for r in rows)
            + "</tbody></table>")


def metrics_html(obj: Mapping[str, Any]) -> str:
    """A metrics section as tables: scalars (and lists of scalars) in one key/value table,
    mappings of scalars as a row per key, mappings of such mappings as a 2-D table, anything
    deeper as a collapsible subsection."""
    flat = [(k, ", ".join(_fmt(x) for x in v) if isinstance(v, list) and all(map(_scalar, v)) else v)
            for k, v in obj.items() if _scalar(v) or (isinstance(v, list) and all(map(_scalar, v)))]
    parts = [_table(["metric", "value"], flat)] if flat else []
    for key, value in obj.items():
        if not isinstance(value, Mapping) or not value:
            continue
        if all(map(_scalar, value.values())):
            parts.append(f"<h4>{html.escape(key)}</h4>" + _table(["key", "value"], list(value.items())))
        elif all(isinstance(v, Mapping) and all(map(_scalar, v.values())) for v in value.values()):
            cols = list(dict.fromkeys(c for v in value.values() for c in v))
            parts.append(f"<h4>{html.escape(key)}</h4>"
                         + _table(["", *cols], [[r, *[v.get(c) for c in cols]] for r, v in value.items()]))
        else:
            parts.append(f"<details><summary>{html.escape(key)}</summary>{metrics_html(value)}</details>")
    return "".join(parts)


# --- what the run directory holds ------------------------------------------------------------------
def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@dataclass
class _Run:
    """Read access to a run directory, the model loaded at most once and only if asked for."""

    root: Path
    given_model: Any = None

    @cached_property
    def manifest(self) -> dict:
        p = self.root / "manifest.json"
        return json.loads(p.read_text()) if p.exists() else {"stages": {}, "artifacts": {}}

    @cached_property
    def metrics(self) -> dict:
        p = self.root / "metrics.json"
        return json.loads(p.read_text()) if p.exists() else {}

    @cached_property
    def config(self) -> Any:
        """``config.yaml`` as an OmegaConf node (read raw, so a run written by an older schema
        still loads)."""
        from omegaconf import OmegaConf

        p = self.root / "config.yaml"
        return OmegaConf.load(p) if p.exists() else OmegaConf.create({})

    @property
    def model_name(self) -> str:
        return str(self.config.get("model", {}).get("name") or self.manifest.get("run", {}).get("model") or "unknown model")

    def done(self, stage: str) -> bool:
        return self.manifest["stages"].get(stage, {}).get("status") == "done"

    @cached_property
    def model(self) -> Any:
        if self.given_model is not None:
            return self.given_model
        from circuits.model.loading import load_model

        dtype = str(self.config.get("model", {}).get("dtype") or "float32")
        log.info("report: loading %s for the views", self.model_name)
        return load_model(self.model_name, device="cpu", dtype=dtype)

    @property
    def emotions(self) -> tuple[str, ...]:
        from circuits.emotions import EMOTIONS

        return tuple(self.config.get("emotions") or EMOTIONS)

    @cached_property
    def template(self) -> Any:
        from circuits.data.prompts import Template

        return Template(str(self.config.get("model", {}).get("template") or "system"))

    @cached_property
    def discovery(self) -> Any:
        """The discovery split the run used (per its ``data`` config), for rebuilding prompts."""
        from circuits.config import DataConfig
        from circuits.data.splits import load_split

        raw = dict(self.config.get("data", {}) or {})
        data = DataConfig(**{k: v for k, v in raw.items() if k in DataConfig.__dataclass_fields__})
        return load_split(data, "discovery")

    def first_group(self) -> tuple[Any, str]:
        """The skeleton and valence of the first group the directions used (else the first
        skeleton of the split, positive valence)."""
        groups = self.root / "elicit" / "groups.json"
        skeletons = {s.skeleton_id: s for s in self.discovery}
        if groups.exists():
            for skeleton_id, valence in json.loads(groups.read_text()).get("groups", []):
                if skeleton_id in skeletons:
                    return skeletons[skeleton_id], valence
        return next(iter(self.discovery)), "positive"

    def prompt(self, skeleton: Any, valence: str, emotion: str | None) -> str:
        from circuits.data.prompts import messages_for

        return self.model.render_chat(messages_for(skeleton, valence, emotion, self.template))

    def elicited_reply(self, skeleton_id: str, valence: str, emotion: str) -> str:
        for path in sorted((self.root / "elicit").glob("replies_discovery_*.jsonl")):
            for r in _read_jsonl(path):
                if (r.get("skeleton_id"), r.get("valence"), r.get("target")) == (skeleton_id, valence, emotion):
                    return str(r.get("reply", ""))
        return ""


# --- sections ---------------------------------------------------------------------------------------
def _figure(run: _Run, rel: str) -> str:
    data = base64.b64encode((run.root / rel).read_bytes()).decode("ascii")
    return (f'<figure id="{_anchor(rel)}"><img alt="{html.escape(rel)}" src="data:image/png;base64,{data}">'
            f'<figcaption><a href="{html.escape(rel)}">{html.escape(rel)}</a></figcaption></figure>')


def _files(run: _Run, stage: str) -> list[str]:
    """The stage's artifacts: from the manifest, else whatever its folder holds."""
    listed = run.manifest["stages"].get(stage, {}).get("artifacts") or []
    if listed:
        return [a for a in listed if (run.root / a).exists()]
    folder = run.root / stage
    return sorted(str(p.relative_to(run.root)) for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []


def _directions_views(run: _Run) -> Iterator[View]:
    from circuits.directions.result import EmotionDirections
    from circuits.viz.views import projection_view

    stem = run.root / "directions" / "directions"
    if not stem.with_suffix(".safetensors").exists():
        return
    directions = EmotionDirections.load(stem)
    best = run.metrics.get("directions", {}).get("probe_best", {}).get("site")
    site = next((s for s in directions.sites if str(s) == best), None)
    skeleton, valence = run.first_group()
    for emotion in directions.emotions:
        text = run.prompt(skeleton, valence, emotion) + run.elicited_reply(skeleton.skeleton_id, valence, emotion)
        others = [e for e in directions.emotions if e != emotion]
        yield projection_view(run.model, directions, text, site, emotions=[emotion, *others],
                              title=f"{emotion} prompt and reply ({skeleton.skeleton_id}, {valence}): tokens coloured "
                                    f"by emotion direction")


def _circuit_views(run: _Run) -> Iterator[View]:
    from circuits.circuit.circuit import Circuit
    from circuits.viz.views import attention_view, circuit_view, top_prompts_view

    paths = {e: run.root / "circuits" / f"circuit_{e}.json" for e in run.emotions}
    circuits = {e: Circuit.load(p) for e, p in paths.items() if p.exists()}
    if not circuits:
        return
    n_layers = run.model.info.n_layers
    skeleton, valence = run.first_group()
    skeletons = list(run.discovery)[:2]
    probe_texts = [run.prompt(s, v, e) for s in skeletons for v in VALENCES for e in (*run.emotions, None)]
    for emotion, circuit in circuits.items():
        yield circuit_view(circuit, n_layers)
        yield attention_view(run.model, circuit, run.prompt(skeleton, valence, emotion), max_heads=8,
                             title=f"{emotion} circuit: attention patterns on the {emotion} prompt "
                                   f"({skeleton.skeleton_id}, {valence})")
        top = sorted(circuit.neurons, key=lambda n: -abs(circuit.score(n)))[:3]
        if top:
            yield top_prompts_view(run.model, top, probe_texts, k=5,
                                   title=f"{emotion} circuit: top activating prompts of its 3 highest-scoring neurons")


def _modulate_views(run: _Run) -> Iterator[View]:
    from circuits.viz.views import replies_view

    path = run.root / "modulate" / "replies.jsonl"
    if not path.exists():
        return
    records = _read_jsonl(path)
    methods = tuple(dict.fromkeys(r.get("method") for r in records if r.get("method")))
    order = ("none", "circuit", *[m for m in methods if m not in ("none", "circuit")])
    for emotion in run.emotions:
        yield replies_view(records, emotion, methods=order, limit=4)


VIEWS = {"directions": _directions_views, "circuits": _circuit_views, "modulate": _modulate_views}
"""The views each stage's section shows, built from its artifacts."""


def _stage_order(run: _Run) -> list[str]:
    from circuits.stages import STAGES

    present = list(run.manifest["stages"]) + [p.name for p in sorted(run.root.iterdir()) if p.is_dir()]
    known = [s for s in STAGES if s in present]
    return known + [s for s in dict.fromkeys(present) if s not in known and s in run.manifest["stages"]]


def _stage_section(run: _Run, stage: str, with_views: bool, run_figures: Collection[str] = ()) -> tuple[str, bool]:
    """The section of one stage, and whether it used the circuitsvis bundle. ``run_figures``:
    every figure the report embeds, which the stage's markdown may link to."""
    from circuits.stages import STAGES

    entry = run.manifest["stages"].get(stage, {})
    desc = STAGES[stage].description if stage in STAGES else ""
    files = _files(run, stage)
    parts = [f'<h2 id="{html.escape(stage)}">{html.escape(stage)}</h2>',
             f'<p class="muted">{html.escape(desc)}</p>' if desc else ""]
    if entry.get("status") not in (None, "done"):
        parts.append(f'<p class="status-{html.escape(entry["status"])}">status: {html.escape(entry["status"])}'
                     f'{": " + html.escape(entry["error"]) if entry.get("error") else ""}</p>')
    scripted = False
    tables = [f for f in files if f.endswith(".md")]
    figures = [f for f in files if f.endswith(".png")]
    for rel in tables:
        parts.append(f'<h3><a href="{html.escape(rel)}">{html.escape(rel)}</a></h3>'
                     + markdown_html((run.root / rel).read_text(encoding="utf-8"), run_figures))
    parts += [_figure(run, rel) for rel in figures]
    if with_views and stage in VIEWS:
        views = list(VIEWS[stage](run))
        if views:
            parts.append("<h3>Views</h3>" + "".join(v.fragment for v in views))
            scripted = any(v.scripted for v in views)
    if stage in run.metrics:
        parts.append(f"<details><summary>metrics.json: {html.escape(stage)}</summary>{metrics_html(run.metrics[stage])}"
                     "</details>")
    if files:
        parts.append(f"<details><summary>{len(files)} artifacts</summary><ul class=\"files\">"
                     + "".join(f'<li><a href="{html.escape(f)}">{html.escape(f)}</a></li>' for f in files) + "</ul></details>")
    return "\n".join(p for p in parts if p), scripted


def _status_table(run: _Run, stages: Sequence[str]) -> str:
    rows = []
    for s in stages:
        e = run.manifest["stages"].get(s, {})
        status = e.get("status", "absent")
        rows.append(f'<tr><td><a href="#{html.escape(s)}">{html.escape(s)}</a></td>'
                    f'<td class="status-{html.escape(status)}">{html.escape(status)}</td>'
                    f'<td>{_fmt(e.get("seconds"))}</td><td>{len(e.get("artifacts") or [])}</td></tr>')
    return ('<table class="md"><thead><tr><th>stage</th><th>status</th><th>seconds</th><th>artifacts</th></tr>'
            "</thead><tbody>" + "".join(rows) + "</tbody></table>")


def build_report(run_dir: str | Path, model: Any = None, views: bool = True) -> str:
    """The HTML report of the run in ``run_dir`` (one self-contained document).

    Args:
        run_dir: a run directory (``manifest.json``, ``config.yaml``, stage folders).
        model: a loaded :class:`~circuits.model.backend.HookedModel` for the views (default: the
            run's model is loaded on the CPU when a view needs it).
        views: build the interactive views (off: figures, tables and links only; no model).
    """
    run = _Run(Path(run_dir), model)
    stages = [s for s in _stage_order(run) if s != "report"]
    with_views = views and any(run.done(s) for s in VIEW_STAGES)
    figures = {f for stage in stages for f in _files(run, stage) if f.endswith(".png")}
    sections, scripted = [], False
    for stage in stages:
        text, used = _stage_section(run, stage, with_views, figures)
        sections.append(text)
        scripted |= used
    links = [f for f in ("config.yaml", "manifest.json", "metrics.json", "summary.md") if (run.root / f).exists()]
    info = run.manifest.get("run", {})
    title = f"Emotion circuits in {run.model_name}"
    header = (f"<h1>{html.escape(title)}</h1><p>Experiment <b>{html.escape(str(info.get('experiment', '?')))}</b>, "
              f"run directory <code>{html.escape(run.root.name)}</code>. "
              + " &middot; ".join(f'<a href="{f}">{f}</a>' for f in links) + "</p>" + _status_table(run, stages))
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{REPORT_CSS}{CSS}</style>{bundle_script() if scripted else ''}</head><body>"
            + header + "\n".join(sections) + "</body></html>\n")


__all__ = ["build_report", "markdown_html", "metrics_html"]
