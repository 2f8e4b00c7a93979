"""Interactive views of a model's emotion machinery, for notebooks and the run report.

Each function returns a :class:`View`: a self-contained HTML fragment (``view.html``) that a
notebook shows through ``_repr_html_`` and the report embeds. The views are

- :func:`attention_view`: the attention patterns of a circuit's heads on one prompt;
- :func:`projection_view`: each token coloured by its projection on every emotion's direction
  at one residual read-out (one value series per emotion);
- :func:`top_prompts_view`: the prompts that activate a neuron most, tokens coloured by its
  activation;
- :func:`replies_view`: replies to the same neutral prompt without and with modulation, with
  the judge's label (a plain table);
- :func:`circuit_view`: the interactive circuit graph of :mod:`circuits.viz.graph`.

Why not call circuitsvis' Python functions
------------------------------------------
circuitsvis renders with React components bundled in one ~1.3 MB script. Its Python side
offers two HTML strings: ``str(view)`` imports the script from a CDN (blank offline), and
``_repr_html_`` first probes ``http://google.com`` with a 1-second timeout on *every* render to
choose between the CDN and an inlined copy. The views here use the same components
(``AttentionHeads``, ``ColoredTokensMulti``, ``TopkSamples``) with the same props but build the
HTML themselves: the bundled script is read once from the installed package and inlined, and
nothing touches the network. A page with many views (the report) includes the script once
(:func:`page`) instead of once per view.

Two details the components need: the token components insert token strings as HTML, so labels
such as ``<|assistant|>`` are escaped there (or they vanish as unknown tags; the attention
component draws text on a canvas and gets them as they are); and a newline token is shown as
``↵`` (followed by the line break where tokens flow as text). Values are rounded to 4 decimals, which keeps the props small
without changing any colour.

Importing this module reads no file, imports neither circuitsvis nor matplotlib, and touches no
network: the script is read on the first render.
"""

from __future__ import annotations

import functools
import hashlib
import html
import importlib.util
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from circuits.activations import attention_patterns, neuron_activations, projections
from circuits.circuit.circuit import Circuit
from circuits.directions.emotion_directions import EmotionDirections
from circuits.evaluation.records import JudgedReply
from circuits.model.backend import Backend
from circuits.nodes import HeadNode, NeuronNode
from circuits.sites import ReadOut, ResidSite
from circuits.viz.graph import circuit_html
from circuits.vocab import Method

CSS = """
.cv-view{font:13px/1.4 system-ui,sans-serif;margin:10px 0 22px}
.cv-view>h4{margin:4px 0;font-size:14px}
.cv-view>.cv-note{color:#555;margin:0 0 6px}
table.cv-replies{border-collapse:collapse;font-size:12px}
table.cv-replies th,table.cv-replies td{border:1px solid #ccc;padding:4px 6px;vertical-align:top;text-align:left}
table.cv-replies th{background:#f2f2f2}
.cv-ok{color:#137333;font-weight:600}.cv-bad{color:#b3261e;font-weight:600}
.cv-label{display:inline-block;padding:0 5px;border-radius:3px;background:#eef;margin-top:3px}
"""
"""Styles of the views' own markup (headers, the replies table); the report includes them once."""


# --- the HTML fragment ----------------------------------------------------------------------------
@dataclass(frozen=True)
class View:
    """One view: a heading, a note, and a body that may call the circuitsvis bundle.

    ``html`` is self-contained (styles and, where needed, the script inlined); ``body`` is the
    same fragment without them, for pages that include them once (:func:`page`).
    """

    title: str
    body: str
    note: str = ""
    scripted: bool = False
    """True when ``body`` calls ``CircuitsVis.render`` and needs the bundled script first."""

    @property
    def fragment(self) -> str:
        """Heading, note and body, without styles or the bundled script."""
        note = f'<p class="cv-note">{html.escape(self.note)}</p>' if self.note else ""
        return f'<div class="cv-view"><h4>{html.escape(self.title)}</h4>{note}{self.body}</div>'

    @property
    def html(self) -> str:
        """The view as a self-contained fragment: styles, bundled script (if needed), body."""
        return f"<style>{CSS}</style>" + (bundle_script() if self.scripted else "") + self.fragment

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return f"View({self.title!r}, {len(self.body)} chars{', scripted' if self.scripted else ''})"


def _circuitsvis_dist() -> Path:
    spec = importlib.util.find_spec("circuitsvis")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("circuitsvis is not installed: pip install circuitsvis")
    return Path(next(iter(spec.submodule_search_locations))) / "dist" / "cdn" / "iife.js"


@functools.cache
def bundle_script() -> str:
    """``<script>`` with circuitsvis' bundled components, defining the global ``CircuitsVis``.

    Read once per process. The source-map comment is dropped (the map is not shipped inline, so a
    browser with developer tools open would try to fetch it), and the one ``</script`` inside a
    string literal is written ``<\\/script`` so it cannot close the element early.
    """
    js = _circuitsvis_dist().read_text(encoding="utf-8")
    js = re.sub(r"//# sourceMappingURL=\S*\s*$", "", js).replace("</script", "<\\/script")
    return f"<script>{js}</script>"


def _props_json(props: Mapping[str, Any]) -> str:
    """Props as a JSON literal that is also safe inside ``<script>`` (no ``<`` left raw)."""
    text = json.dumps({k: v for k, v in props.items() if v is not None}, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _component(name: str, props: Mapping[str, Any]) -> str:
    """A container and the script that renders circuitsvis component ``name`` into it once the
    container comes within a screen of the viewport.

    Rendering is deferred because some components are costly in a browser (the attention
    heatmaps draw heads x tokens^2 cells each): a report with dozens of views opens at once and
    renders each view as it is scrolled to. Browsers without ``IntersectionObserver`` render
    immediately. The id is a hash of the content, so the same view gives the same HTML.
    """
    payload = _props_json(props)
    uid = "cv-" + hashlib.sha1(f"{name}:{payload}".encode()).hexdigest()[:16]
    return (f'<div id="{uid}" class="cv-root" style="margin:6px 0;min-height:20px"></div>'
            f'<script>(function(){{var el=document.getElementById("{uid}"),done=false;'
            f'function go(){{if(done)return;done=true;CircuitsVis.render("{uid}",CircuitsVis.{name},{payload});}}'
            'if(!("IntersectionObserver" in window)){go();return;}'
            'var io=new IntersectionObserver(function(es){if(es.some(function(e){return e.isIntersecting;}))'
            '{io.disconnect();go();}},{rootMargin:"100% 0px"});io.observe(el);})();</script>')


def _values(x: Tensor) -> list:
    """A tensor as nested lists of floats rounded to 4 decimals (short JSON, same colours)."""
    return (torch.round(x.detach().double().cpu() * 1e4) / 1e4).tolist()


def token_label(token: str) -> str:
    """A token as the components should show it: HTML-escaped, newlines marked ``↵``."""
    return html.escape(token.replace("\n", "\u21b5\n"), quote=False)


def page(views: Iterable[View], title: str = "views", head: str = "") -> str:
    """A standalone HTML document showing ``views``, with the bundled script included once."""
    views = list(views)
    script = bundle_script() if any(v.scripted for v in views) else ""
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{CSS}</style>{head}{script}</head><body>" + "".join(v.fragment for v in views) + "</body></html>")


# --- the views ---------------------------------------------------------------------------------------
def _heads_of(circuit: Circuit | Sequence[HeadNode], max_heads: int | None) -> list[HeadNode]:
    """A circuit's heads, highest score first when they are cut to ``max_heads``, else in
    layer order; a plain list of heads is kept as given."""
    if not isinstance(circuit, Circuit):
        heads = list(circuit)
        return heads[:max_heads] if max_heads else heads
    heads = circuit.heads
    if max_heads is not None and len(heads) > max_heads:
        heads = sorted(sorted(heads, key=lambda h: -abs(circuit.score(h)))[:max_heads])
    return heads


def attention_view(
    model: Backend,
    circuit: Circuit | Sequence[HeadNode],
    text: str,
    max_heads: int | None = 12,
    title: str | None = None,
) -> View:
    """Attention patterns of the circuit's heads on ``text`` (circuitsvis ``AttentionHeads``):
    a thumbnail per head, click one to enlarge it, hover a cell for source and destination.

    ``max_heads`` keeps the highest-scoring heads (the props grow with heads x tokens^2).
    """
    heads = _heads_of(circuit, max_heads)
    if not heads:
        return View(title or "attention patterns", "<p>(this circuit has no heads)</p>")
    pattern = attention_patterns(model, heads, text)
    if isinstance(circuit, Circuit):
        names = [f"{h} ({circuit.score(h):+.3g})" for h in heads]
    else:
        names = [str(h) for h in heads]
    # The attention components draw tokens as canvas text, so they are not HTML-escaped here.
    tokens = [t.replace("\n", "\u21b5") for t in model.str_tokens(text)]
    body = _component("AttentionHeads", {"attention": _values(pattern), "tokens": tokens,
                                         "attentionHeadNames": names, "maskUpperTri": True})
    name = circuit.emotion if isinstance(circuit, Circuit) else "selected"
    total = len(circuit.heads) if isinstance(circuit, Circuit) else len(heads)
    note = (f"{len(heads)} of the {total} heads of the {name} circuit (score in brackets); rows are destination "
            "tokens, columns the source tokens they attend to. Click a head to enlarge it.")
    return View(title or f"{name} circuit: attention patterns", body, note, scripted=True)


def projection_view(
    model: Backend,
    directions: EmotionDirections,
    text: str,
    site: ResidSite | None = None,
    emotions: Sequence[str] | None = None,
    title: str | None = None,
) -> View:
    """Tokens of ``text`` coloured by their projection on each emotion's direction at ``site``
    (circuitsvis ``ColoredTokensMulti``): pick an emotion to colour by, hover a token for all.

    The default read-out is the residual after the MLP of the middle layer. ``emotions`` picks
    and orders the series (default: all, in the directions' order); the first one colours the
    tokens when the view opens.
    """
    site = site or ResidSite(directions.n_layers // 2, ReadOut.RESID_POST)
    emotions = list(emotions or directions.emotions)
    values = projections(model, directions, text, site)[:, [directions.emotions.index(e) for e in emotions]]
    tokens = [token_label(t) for t in model.str_tokens(text)]
    body = _component("ColoredTokensMulti", {"tokens": tokens, "values": _values(values), "labels": emotions})
    note = (f"Projection of each token's residual at {site} ({site.readout.value}) on each emotion's unit direction, "
            "in units of that read-out's RMS. Click an emotion to colour by it; hover a token for every value.")
    return View(title or f"tokens coloured by emotion direction at {site}", body, note, scripted=True)


def top_prompts_view(
    model: Backend,
    neurons: NeuronNode | Sequence[NeuronNode],
    texts: Sequence[str],
    k: int = 5,
    title: str | None = None,
    batch_size: int = 32,
) -> View:
    """The ``k`` texts on which each neuron's largest activation (``mlp.hook_post``, any token)
    is highest, tokens coloured by that neuron's activation (circuitsvis ``TopkSamples``; with
    several neurons a selector picks one)."""
    neurons = [neurons] if isinstance(neurons, NeuronNode) else list(neurons)
    if not neurons or not texts:
        return View(title or "top activating prompts", "<p>(no neurons or no prompts)</p>")
    acts = neuron_activations(model, neurons, texts, batch_size)
    peak = torch.stack([a.max(dim=0).values for a in acts])
    k = min(k, len(texts))
    tops = [peak[:, j].topk(k).indices.tolist() for j in range(len(neurons))]
    # only the texts shown are split into token strings
    str_tokens = {i: [token_label(t) for t in model.str_tokens(texts[i])] for i in sorted({i for t in tops for i in t})}
    tokens = [[[str_tokens[i] for i in top]] for top in tops]
    values = [[[_values(acts[i][:, j]) for i in top]] for j, top in enumerate(tops)]
    body = _component("TopkSamples", {"tokens": tokens, "activations": values, "zerothDimensionName": "Neuron",
                                      "firstDimensionName": "Ranking", "zerothDimensionLabels": [str(n) for n in neurons],
                                      "firstDimensionLabels": ["by peak activation"]})
    note = (f"The {k} of {len(texts)} prompts with the highest peak activation, in descending order; "
            "colour: the neuron's activation at each token.")
    name = ", ".join(str(n) for n in neurons[:4]) + (" ..." if len(neurons) > 4 else "")
    return View(title or f"top activating prompts: {name}", body, note, scripted=True)


def replies_view(
    records: Iterable[JudgedReply],
    emotion: str | None = None,
    methods: Sequence[Method] = (Method.NONE, Method.CIRCUIT),
    limit: int | None = 8,
    title: str | None = None,
) -> View:
    """Replies to the same prompt under each method side by side, with the judge's label and
    whether it is the target emotion (e.g. the records of ``modulate/replies.jsonl``).

    One row per (skeleton, valence, target emotion), one column per method present among
    ``methods``; ``emotion`` keeps one target emotion, ``limit`` the first rows.
    """
    rows: dict[tuple, dict[Method, JudgedReply]] = {}
    present: set[Method] = set()
    for r in records:
        if r.method not in methods or (emotion is not None and r.target != emotion):
            continue
        rows.setdefault((r.target, r.skeleton_id, r.valence), {})[r.method] = r
        present.add(r.method)
    cols = [m for m in methods if m in present]
    keys = list(rows)[:limit] if limit else list(rows)
    head = "".join(f"<th>{html.escape(str(m))}</th>" for m in cols)
    body_rows = []
    for target, skeleton, valence in keys:
        cells = []
        for m in cols:
            r = rows[(target, skeleton, valence)].get(m)
            if r is None:
                cells.append("<td></td>")
                continue
            mark = '<span class="cv-ok">&#10003;</span>' if r.correct else '<span class="cv-bad">&#10007;</span>'
            extra = f" &middot; strength {html.escape(r.strength)}" if m is not Method.NONE and r.has_strength else ""
            cells.append(f'<td>{html.escape(r.reply)}<br><span class="cv-label">{mark} '
                         f'{html.escape(r.label)}</span>{extra}</td>')
        body_rows.append(f"<tr><td>{html.escape(str(target))}</td><td>{html.escape(str(skeleton))}<br>"
                         f"{html.escape(str(valence))}</td>{''.join(cells)}</tr>")
    if not body_rows:
        return View(title or "replies", "<p>(no replies for these methods)</p>")
    table = (f'<table class="cv-replies"><thead><tr><th>target</th><th>prompt</th>{head}</tr></thead>'
             f"<tbody>{''.join(body_rows)}</tbody></table>")
    note = ("The same situation (skeleton and valence) answered without intervention and under each method, "
            "with the judge's label "
            "(\u2713: the target emotion).")
    return View(title or f"replies{' for ' + emotion if emotion else ''}: " + " vs ".join(map(str, cols)), table, note)


def circuit_view(circuit: Circuit, n_layers: int, title: str | None = None) -> View:
    """The circuit graph of :func:`circuits.viz.graph.circuit_html`: hover a node for its name
    and score, click a layer to highlight its nodes (click again to clear)."""
    note = "Columns: each layer's heads, then its neurons; node size: the node's score."
    return View(title or f"{circuit.emotion} circuit graph", circuit_html(circuit, n_layers), note)


__all__ = [
    "CSS",
    "View",
    "attention_view",
    "bundle_script",
    "circuit_view",
    "page",
    "projection_view",
    "replies_view",
    "token_label",
    "top_prompts_view",
]
