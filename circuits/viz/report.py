"""The run report: one self-contained ``report.html`` with everything a run directory holds.

:func:`build_report` reads a run directory through :class:`~circuits.artifacts.RunReader`
(``manifest.json``, ``metrics.json`` and each stage's artifacts) and returns one HTML document
that opens offline from anywhere:

- the stages and their status, with links to the configuration, manifest and metrics;
- per stage: every PNG figure embedded as a base64 data URI, every markdown table rendered
  as an HTML table, the stage's metrics as tables, and relative links to all its artifacts
  (they resolve when ``report.html`` sits in the run directory, where the stage writes it);
- the interactive views the caller built for each stage (:mod:`circuits.viz.views`: tokens
  coloured by emotion direction, circuit graphs, attention patterns, top prompts, replies).

It only reads: it imports neither the stages, nor the config, nor the model loader. What needs a
model or the run's prompts (the views) is built by the caller (the ``report`` stage) and handed
in, with the stages' order and descriptions. A stage that did not run, or failed, contributes
what it left (or nothing), so a run of a few stages still gets a report of what exists.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from circuits.artifacts import RunReader
from circuits.layout import CONFIG, MANIFEST, METRICS, SUMMARY
from circuits.viz.views import CSS, View, bundle_script

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


# --- sections ---------------------------------------------------------------------------------------
def _figure(run: RunReader, rel: str) -> str:
    data = base64.b64encode(run.path(rel).read_bytes()).decode("ascii")
    return (f'<figure id="{_anchor(rel)}"><img alt="{html.escape(rel)}" src="data:image/png;base64,{data}">'
            f'<figcaption><a href="{html.escape(rel)}">{html.escape(rel)}</a></figcaption></figure>')


def _stage_order(run: RunReader, known: Sequence[str]) -> list[str]:
    """The run's stages: the ``known`` ones in their order, then any other the manifest has."""
    present = list(run.manifest["stages"]) + [p.name for p in sorted(run.root.iterdir()) if p.is_dir()]
    ordered = [s for s in known if s in present]
    return ordered + [s for s in dict.fromkeys(present) if s not in ordered and s in run.manifest["stages"]]


def _stage_section(run: RunReader, stage: str, description: str, views: Sequence[View],
                   run_figures: Collection[str] = ()) -> str:
    """The section of one stage. ``run_figures``: every figure the report embeds, which the
    stage's markdown may link to."""
    entry = run.stage_entry(stage)
    files = run.artifacts(stage)
    parts = [f'<h2 id="{html.escape(stage)}">{html.escape(stage)}</h2>',
             f'<p class="muted">{html.escape(description)}</p>' if description else ""]
    if entry.get("status") not in (None, "done"):
        parts.append(f'<p class="status-{html.escape(entry["status"])}">status: {html.escape(entry["status"])}'
                     f'{": " + html.escape(entry["error"]) if entry.get("error") else ""}</p>')
    for rel in (f for f in files if f.endswith(".md")):
        parts.append(f'<h3><a href="{html.escape(rel)}">{html.escape(rel)}</a></h3>'
                     + markdown_html(run.read_text(rel), run_figures))
    parts += [_figure(run, rel) for rel in files if rel.endswith(".png")]
    if views:
        parts.append("<h3>Views</h3>" + "".join(v.fragment for v in views))
    if stage in run.metrics:
        parts.append(f"<details><summary>metrics.json: {html.escape(stage)}</summary>{metrics_html(run.metrics[stage])}"
                     "</details>")
    if files:
        parts.append(f"<details><summary>{len(files)} artifacts</summary><ul class=\"files\">"
                     + "".join(f'<li><a href="{html.escape(f)}">{html.escape(f)}</a></li>' for f in files) + "</ul></details>")
    return "\n".join(p for p in parts if p)


def _status_table(run: RunReader, stages: Sequence[str]) -> str:
    rows = []
    for s in stages:
        e = run.stage_entry(s)
        status = e.get("status", "absent")
        rows.append(f'<tr><td><a href="#{html.escape(s)}">{html.escape(s)}</a></td>'
                    f'<td class="status-{html.escape(status)}">{html.escape(status)}</td>'
                    f'<td>{_fmt(e.get("seconds"))}</td><td>{len(e.get("artifacts") or [])}</td></tr>')
    return ('<table class="md"><thead><tr><th>stage</th><th>status</th><th>seconds</th><th>artifacts</th></tr>'
            "</thead><tbody>" + "".join(rows) + "</tbody></table>")


def build_report(
    run: RunReader,
    stages: Mapping[str, str] = {},
    views: Mapping[str, Sequence[View]] = {},
    title: str | None = None,
) -> str:
    """The HTML report of a run directory (one self-contained document).

    Args:
        run: the run directory, read through a :class:`~circuits.artifacts.RunReader`.
        stages: stage name -> description, in the order the sections should follow (stages the
            manifest has but ``stages`` lacks come last, undescribed).
        views: the interactive views to show in each stage's section.
        title: the page title (default: "Emotion circuits in <the run's model>").
    """
    order = [s for s in _stage_order(run, list(stages)) if s != "report"]
    figures = {f for stage in order for f in run.artifacts(stage) if f.endswith(".png")}
    sections = [_stage_section(run, stage, stages.get(stage, ""), views.get(stage, ()), figures) for stage in order]
    scripted = any(v.scripted for vs in views.values() for v in vs)
    links = [f for f in (CONFIG, MANIFEST, METRICS, SUMMARY.summary.path()) if run.exists(f)]
    info = run.info
    title = title or f"Emotion circuits in {info.get('model', 'unknown model')}"
    header = (f"<h1>{html.escape(title)}</h1><p>Experiment <b>{html.escape(str(info.get('experiment', '?')))}</b>, "
              f"run directory <code>{html.escape(run.root.name)}</code>. "
              + " &middot; ".join(f'<a href="{f}">{f}</a>' for f in links) + "</p>" + _status_table(run, order))
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{REPORT_CSS}{CSS}</style>{bundle_script() if scripted else ''}</head><body>"
            + header + "\n".join(sections) + "</body></html>\n")


__all__ = ["build_report", "markdown_html", "metrics_html"]
