"""Every view rendered from the artifacts of a real run (the small ``reproduce`` run of
``conftest.small_run``): directions, circuits and modulated replies are read back with the
package's own loaders, the model is ``emo-tiny`` as the run named it.

Each test checks that the HTML is self-contained (no external ``src``/``href``, no CDN), that it
shows the data it was given (the props handed to the circuitsvis component are parsed back out
of the HTML and checked against an independent computation where one exists), and that rendering
touches no network (sockets are blocked while it runs). How long a render takes is measured by
``make bench``, not here.
"""

from __future__ import annotations

import html
import json
import re
import socket
from html.parser import HTMLParser
from pathlib import Path

import pytest
import torch

from circuits import layout
from circuits.artifacts import RunReader
from circuits.circuit.circuit import Circuit
from circuits.data.prompts import messages_for
from circuits.data.splits import project_split
from circuits.directions.emotion_directions import EmotionDirections
from circuits.emotions import VALENCES
from circuits.evaluation.records import JudgedReply
from circuits.model.hooked import hook_point
from circuits.modulation.vectors import InterventionVectors
from circuits.nodes import HeadNode
from circuits.sites import ReadOut, ResidSite
from circuits.viz.views import (
    View,
    attention_view,
    circuit_view,
    projection_view,
    replies_view,
    token_label,
    top_prompts_view,
)
from circuits.vocab import Method, Split, Template


# --- the run's artifacts ----------------------------------------------------------------------------
class RunArtifacts:
    """What the views are built from, read back from the run directory."""

    def __init__(self, root: Path, model) -> None:
        from omegaconf import OmegaConf

        run = RunReader(root)
        self.root = root
        self.config = OmegaConf.to_container(OmegaConf.load(root / layout.CONFIG))
        assert self.config["model"]["name"] == model.name == "emo-tiny"
        assert self.config["data"]["source"] == "project"
        self.model = model
        self.directions = EmotionDirections.load(run.path(layout.DIRECTIONS.directions.path()))
        self.circuits = {e: Circuit.load(run.path(layout.CIRCUITS.circuit.path(emotion=e)))
                         for e in self.config["emotions"]}
        self.vectors = InterventionVectors.load(run.path(layout.CIRCUITS.vectors.path()))
        self.replies = [JudgedReply.from_json(r) for r in run.read_jsonl(layout.MODULATE.replies.path())]
        self.elicited = [JudgedReply.from_json(r) for r in
                         run.read_jsonl(layout.ELICIT.replies.path(split=Split.DISCOVERY, template=Template.SYSTEM))]
        self.discovery = {s.skeleton_id: s for s in project_split(Split.DISCOVERY)}
        self.template = Template(self.config["model"]["template"])

    def prompt(self, skeleton_id: str, valence: str, emotion: str | None) -> str:
        return self.model.render_chat(messages_for(self.discovery[skeleton_id], valence, emotion, self.template))

    def elicited_text(self, emotion: str) -> str:
        """The first elicited (prompt + reply) of ``emotion`` in the run: a prompt the model
        answered in that emotion, with its reply."""
        r = next(r for r in self.elicited if r.target == emotion and r.reply)
        return self.prompt(r.skeleton_id, r.valence, emotion) + r.reply


@pytest.fixture(scope="module")
def art(small_run, emo_tiny) -> RunArtifacts:
    return RunArtifacts(small_run, emo_tiny)


# --- what every view must satisfy --------------------------------------------------------------------
class _Refs(HTMLParser):
    """Every URL-valued attribute of every tag, and the tags seen."""

    URL_ATTRS = {"src", "href", "srcset", "action", "data", "poster", "xlink:href", "formaction"}

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.urls += [v for k, v in attrs if k in self.URL_ATTRS and v]


def assert_self_contained(text: str) -> None:
    refs = _Refs()
    refs.feed(text)
    external = [u for u in refs.urls if re.match(r"\s*(https?:)?//", u, re.I)]
    assert not external, f"external references: {external}"
    assert not refs.tags & {"link", "iframe", "object", "embed"}, refs.tags
    assert not re.search(r"<script[^>]*\bsrc\s*=", text, re.I), "a script is loaded from elsewhere"
    assert not re.search(r"@import|url\(\s*['\"]?(https?:)?//", text, re.I), "a style loads from elsewhere"
    for cdn in ("unpkg.com", "jsdelivr", "cdnjs", "googleapis", "google.com"):
        assert cdn not in text, f"{cdn} referenced"


@pytest.fixture
def no_network(monkeypatch):
    """Sockets cannot connect or resolve while a view renders (circuitsvis' own HTML would try)."""
    attempts: list[str] = []

    def refuse(*args, **kwargs):
        attempts.append(repr(args[:2]))
        raise OSError("network blocked by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    yield attempts
    assert attempts == [], f"rendering tried the network: {attempts}"


def render(name: str, make) -> tuple[View, str]:
    """Build a view and its self-contained HTML (the first scripted view also reads the
    circuitsvis bundle from disk, as it would in a fresh notebook)."""
    view = make()
    text = view.html
    print(f"\n{name}: {len(text) / 1e6:.2f} MB")
    assert_self_contained(text)
    assert view._repr_html_() == text
    if view.scripted:
        assert text.count("<script>") >= 2 and "CircuitsVis" in text
    return view, text


PROPS = re.compile(r'CircuitsVis\.render\("(cv-[0-9a-f]+)",CircuitsVis\.(\w+),(\{.*?\})\);\}', re.S)


def props_of(text: str) -> tuple[str, dict]:
    """The one circuitsvis component a view renders and the props it passes."""
    found = PROPS.findall(text)
    assert len(found) == 1, f"expected one component, found {len(found)}"
    uid, component, payload = found[0]
    assert f'<div id="{uid}"' in text
    assert "<" not in payload, "props must not contain a raw '<' inside <script>"
    return component, json.loads(payload)


# --- the views ---------------------------------------------------------------------------------------
def test_projection_view_colours_the_run_tokens_by_its_directions(art, no_network):
    d, model = art.directions, art.model
    emotion = d.emotions[0]
    text = art.elicited_text(emotion)
    site = ResidSite(1, ReadOut.RESID_POST)
    order = [emotion, *[e for e in d.emotions if e != emotion]]
    view, out = render("projection_view", lambda: projection_view(model, d, text, site, emotions=order))
    component, props = props_of(out)
    assert component == "ColoredTokensMulti"
    assert props["labels"] == order
    assert props["tokens"] == [token_label(t) for t in model.str_tokens(text)]
    values = torch.tensor(props["values"])
    assert values.shape == (len(props["tokens"]), len(order))
    # Reference: TransformerLens' own cache of the same read-out, projected on the run's unit
    # directions, in units of the run's sigma.
    _, cache = model.tl.run_with_cache(model.encode([text]).tokens, names_filter=hook_point(site))
    resid = cache[hook_point(site)][0].float()
    expected = resid @ torch.stack([d.vector(e, site) for e in order]).T / d.sigma(site)
    torch.testing.assert_close(values, expected, atol=2e-4, rtol=1e-4)
    # the elicited reply shows up among the tokens, escaped
    assert html.escape("<|assistant|>", quote=False) in props["tokens"]
    assert str(site) in view.note


def test_attention_view_shows_the_circuit_heads_on_a_run_prompt(art, no_network):
    model = art.model
    emotion, circuit = next((e, c) for e, c in art.circuits.items() if c.heads)
    r = next(r for r in art.elicited if r.target == emotion)
    text = art.prompt(r.skeleton_id, r.valence, emotion)
    max_heads = max(1, len(circuit.heads) - 1)
    view, out = render("attention_view", lambda: attention_view(model, circuit, text, max_heads=max_heads))
    component, props = props_of(out)
    assert component == "AttentionHeads"
    # the highest-|score| heads of the circuit, in layer order, named with their scores
    top = sorted(circuit.heads, key=lambda h: -abs(circuit.score(h)))[:max_heads]
    shown = [HeadNode(*map(int, re.match(r"L(\d+)H(\d+)", n).groups())) for n in props["attentionHeadNames"]]
    assert shown == sorted(top)
    for name, head in zip(props["attentionHeadNames"], shown):
        assert name.startswith(str(head)) and f"{circuit.score(head):+.3g}" in name
    tokens = model.str_tokens(text)
    assert props["tokens"] == [t.replace("\n", "\u21b5") for t in tokens]
    pattern = torch.tensor(props["attention"])
    assert pattern.shape == (len(shown), len(tokens), len(tokens))
    # attention patterns: causal rows that sum to one; equal to TransformerLens' cached pattern
    assert torch.all(pattern.triu(1) == 0)
    torch.testing.assert_close(pattern.sum(-1), torch.ones(pattern.shape[:2]), atol=1e-3, rtol=0)
    names = {f"blocks.{h.layer}.attn.hook_pattern" for h in shown}
    _, cache = model.tl.run_with_cache(model.encode([text]).tokens, names_filter=lambda n: n in names)
    expected = torch.stack([cache[f"blocks.{h.layer}.attn.hook_pattern"][0, h.head].float() for h in shown])
    torch.testing.assert_close(pattern, expected, atol=1e-4, rtol=0)
    assert f"{len(shown)} of the {len(circuit.heads)} heads of the {emotion} circuit" in view.note


def test_top_prompts_view_ranks_run_prompts_by_a_circuit_neuron(art, no_network):
    model = art.model
    emotion, circuit = next(iter(art.circuits.items()))
    neuron = max(circuit.neurons, key=lambda n: abs(circuit.score(n)))
    # one skeleton's prompts (21 texts, one forward pass): the report uses two
    skeleton = next(iter(art.discovery))
    texts = [art.prompt(skeleton, v, e) for v in VALENCES for e in (*art.directions.emotions, None)]
    k = 5
    view, out = render("top_prompts_view", lambda: top_prompts_view(model, neuron, texts, k=k))
    component, props = props_of(out)
    assert component == "TopkSamples"
    assert props["zerothDimensionLabels"] == [str(neuron)]
    [[samples]], [[acts]] = props["tokens"], props["activations"]
    assert len(samples) == len(acts) == k
    # Reference: each text's activations of the neuron from TransformerLens' cache, the texts
    # right-padded (causal attention: a token never sees the padding after it) where the view
    # left-pads with a mask. The view must show k distinct texts with their activations, highest
    # peak first, and no text left out may peak higher (texts that share the prefix where the
    # neuron peaks tie, in any order).
    hook = f"blocks.{neuron.layer}.mlp.hook_post"
    ids = [model.token_ids(t) for t in texts]
    tokens = torch.full((len(ids), max(map(len, ids))), model.pad_token_id, dtype=torch.long)
    for row, seq in zip(tokens, ids):
        row[: len(seq)] = torch.tensor(seq)
    _, cache = model.tl.run_with_cache(tokens, names_filter=hook, stop_at_layer=neuron.layer + 1)
    per_text = [cache[hook][i, : len(seq), neuron.neuron].float() for i, seq in enumerate(ids)]
    peaks = [float(a.max()) for a in per_text]
    shown = []
    for tokens, values in zip(samples, acts):
        match = [i for i, t in enumerate(texts) if tokens == [token_label(x) for x in model.str_tokens(t)]
                 and torch.allclose(torch.tensor(values), per_text[i], atol=2e-4, rtol=0)]
        assert match, "a shown sample is none of the texts with its activations"
        shown.append(next((i for i in match if i not in shown), match[0]))
    assert len(set(shown)) == k
    shown_peaks = [max(a) for a in acts]
    assert shown_peaks == sorted(shown_peaks, reverse=True)
    assert shown_peaks == pytest.approx(sorted(peaks, reverse=True)[:k], abs=2e-4)
    assert f"The {k} of {len(texts)} prompts" in view.note


def test_replies_view_shows_the_run_replies_and_judged_labels(art, no_network):
    from circuits.emotions import JUDGE_LABELS

    emotion = art.config["emotions"][0]
    limit = 3
    methods = (Method.NONE, Method.PROMPTING, Method.CIRCUIT)
    view, out = render("replies_view", lambda: replies_view(art.replies, emotion, methods, limit=limit))
    assert not view.scripted and "CircuitsVis" not in out
    mine = [r for r in art.replies if r.target == emotion and r.method in methods]
    assert {r.method for r in mine} == set(methods), "the run lacks a method"
    keys = list(dict.fromkeys((r.skeleton_id, r.valence) for r in mine))[:limit]
    rows = re.findall(r"<tr>(.*?)</tr>", out.split("<tbody>", 1)[1], re.S)
    assert len(rows) == len(keys) > 0
    header = re.findall(r"<th>(.*?)</th>", out.split("<tbody>", 1)[0])
    assert header == ["target", "prompt", *map(str, methods)]
    for row, (skeleton, valence) in zip(rows, keys):
        cells = re.findall(r"<td>(.*?)</td>", row, re.S)
        assert cells[0] == emotion and cells[1] == f"{skeleton}<br>{valence}"
        for cell, method in zip(cells[2:], methods):
            r = next(r for r in mine if (r.skeleton_id, r.valence, r.method) == (skeleton, valence, method))
            assert cell.startswith(html.escape(r.reply) + "<br>")
            mark = '"cv-ok">&#10003;' if r.correct else '"cv-bad">&#10007;'
            assert f"{mark}</span> {html.escape(r.label)}</span>" in cell
            assert r.label in JUDGE_LABELS
            # the modulation's strength is shown; the unmodified and prompted replies have none
            if method is Method.CIRCUIT:
                assert f"strength {html.escape(r.strength)}" in cell
            else:
                assert "strength" not in cell


def test_circuit_view_draws_every_node_of_the_run_circuit(art, no_network):
    emotion, circuit = next(iter(art.circuits.items()))
    n_layers = art.directions.n_layers
    view, out = render("circuit_view", lambda: circuit_view(circuit, n_layers))
    assert not view.scripted and "CircuitsVis" not in out
    assert out.count('<svg class="circuit"') == 1
    circles = re.findall(r'<circle class="node (head|neuron)" data-layer="(\d+)"[^>]*><title>([^<]*)</title>', out)
    assert len(circles) == len(circuit)
    assert sum(kind == "head" for kind, _, _ in circles) == len(circuit.heads)
    titles = {t for _, _, t in circles}
    for node in circuit.nodes:
        kind = "head" if isinstance(node, HeadNode) else "neuron"
        assert html.escape(f"{node} ({kind}) score {circuit.score(node):+.4g}") in titles
    assert len(re.findall(r'<rect class="layer" data-layer="\d+"', out)) == n_layers
    # one script that binds each graph once (data-bound), however many graphs a page holds
    assert out.count("<script>") == 1 and "data-bound" in out
    assert f"{len(circuit.heads)} heads, {len(circuit.neurons)} neurons" in out


def test_importing_circuits_viz_has_no_side_effects(tmp_path):
    """In a fresh interpreter with sockets blocked and an audit hook watching: importing the viz
    modules opens no file for writing, attempts no connection or lookup, imports neither
    matplotlib.pyplot nor circuitsvis, and leaves matplotlib's backend setting as it was.

    torch, numpy and jaxtyping are imported before the hook is installed: importing torch opens
    ``os.devnull`` for writing and probes the temporary directory (through ``dill``), which is
    torch's doing, not the framework's."""
    import os
    import subprocess
    import sys

    code = r"""
import json, os, socket, sys
events = []
WRITE = set("wax+")
def audit(event, args):
    if event == "open" and args and isinstance(args[1], str) and WRITE & set(args[1]):
        events.append(f"write {args[0]}")
    elif event == "open" and args and isinstance(args[2], int) and args[2] & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
        events.append(f"write {args[0]}")
    elif event.startswith(("socket.", "urllib.", "http.")):
        events.append(f"{event} {args!r:.80}")
def refuse(*a, **k):
    raise OSError("blocked")
socket.socket.connect = refuse
import matplotlib
import numpy, torch, jaxtyping  # their own imports write (dill opens os.devnull, tempfile probes /tmp)
backend = dict.__getitem__(matplotlib.rcParams, "backend")
sys.addaudithook(audit)
import circuits.viz, circuits.viz.views, circuits.viz.report, circuits.viz.plots, circuits.viz.graph
print(json.dumps({"events": events, "pyplot": "matplotlib.pyplot" in sys.modules,
                  "circuitsvis": "circuitsvis" in sys.modules,
                  "backend_same": dict.__getitem__(matplotlib.rcParams, "backend") == backend}))
"""
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    env.update(PYTHONDONTWRITEBYTECODE="1", MPLCONFIGDIR=str(tmp_path / "mpl"), HOME=str(tmp_path))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["events"] == [], result["events"]
    assert not result["pyplot"] and not result["circuitsvis"]
    assert result["backend_same"]


def test_report_embeds_every_figure_and_links_the_summary_to_them(small_run):
    """The report without views (no model): self-contained, every PNG of the run embedded
    once with an anchor, and ``summary.md`` rendered with headings and with its image
    references linking to those embedded figures (not left as markdown)."""
    from circuits.viz.report import build_report

    text = build_report(RunReader(small_run))
    assert_self_contained(text)
    pngs = sorted(str(p.relative_to(small_run)) for p in small_run.glob("*/*.png"))
    figures = dict((alt, fid) for fid, alt in re.findall(r'<figure id="([^"]+)"><img alt="([^"]+)" '
                                                         r'src="data:image/png;base64,', text))
    assert sorted(figures) == pngs and len(set(figures.values())) == len(pngs)
    summary = (small_run / "summary.md").read_text(encoding="utf-8")
    refs = re.findall(r"!\[([^\]]*)\]\(([^)]+)\)", summary)
    assert refs, "the summary references no figure"
    for alt, src in refs:
        assert f'<a class="figref" href="#{figures[src]}">figure: {html.escape(alt)}</a>' in text
    assert "![" not in text
    headings = [(len(h), t) for h, t in re.findall(r"^(#+)\s+(.*)$", summary, re.M) if not re.search(r"[*`\[]", t)]
    assert headings
    for hashes, title in headings:
        assert f"<h{hashes + 2}>{html.escape(title)}</h{hashes + 2}>" in text, title
    assert not re.search(r"<p>#", text)
