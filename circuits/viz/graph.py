"""The circuit graph: layers as columns (attention heads, then MLP neurons, per layer), one node
per component, sized by its score. Rendered as a static PNG (matplotlib) and as a self-contained
interactive HTML/SVG view (hover a node for its name and score, click a layer to highlight it);
no external scripts, no network, no graphviz."""

from __future__ import annotations

import html
import math

from circuits.circuit.circuit import Circuit
from circuits.nodes import HeadNode


def _layout(circuit: Circuit, n_layers: int) -> list[tuple[object, float, float, float]]:
    """(node, x, y, radius) with x the column (2*layer for heads, 2*layer+1 for neurons)."""
    cols: dict[int, list] = {}
    for node, score in circuit.scores:
        col = 2 * node.layer + (0 if isinstance(node, HeadNode) else 1)
        cols.setdefault(col, []).append((node, score))
    top = max((abs(s) for _, s in circuit.scores), default=1.0) or 1.0
    out = []
    for col, items in cols.items():
        items.sort(key=lambda ns: -ns[1])
        n = len(items)
        for i, (node, score) in enumerate(items):
            y = (i + 0.5) / n
            out.append((node, col, y, 0.15 + 0.85 * math.sqrt(abs(score) / top)))
    return out


def circuit_figure(circuit: Circuit, n_layers: int, title: str | None = None):
    from circuits.viz.plots import _plt

    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * n_layers + 2), 4.2))
    for node, x, y, r in _layout(circuit, n_layers):
        color = "C0" if isinstance(node, HeadNode) else "C1"
        ax.scatter([x], [y], s=220 * r**2, color=color, alpha=0.75, edgecolors="k", linewidths=0.3)
        if isinstance(node, HeadNode):
            ax.annotate(str(node), (x, y), fontsize=6, ha="center", va="center")
    ax.set_xticks(range(2 * n_layers), [f"L{i // 2}\n{'heads' if i % 2 == 0 else 'neurons'}" for i in range(2 * n_layers)],
                  fontsize=7)
    ax.set_yticks([])
    ax.set_xlim(-0.7, 2 * n_layers - 0.3)
    ax.set_ylim(-0.05, 1.05)
    for layer in range(n_layers):
        ax.axvspan(2 * layer - 0.5, 2 * layer + 1.5, color="grey", alpha=0.06 if layer % 2 else 0.0)
    ax.set_title(title or f"{circuit.emotion} circuit: {len(circuit.heads)} heads, {len(circuit.neurons)} neurons")
    return fig


def circuit_html(circuit: Circuit, n_layers: int, title: str | None = None) -> str:
    """A self-contained interactive SVG view of the circuit."""
    W, H = max(640, 90 * 2 * n_layers), 420
    pad = 40
    def px(x):
        return pad + (W - 2 * pad) * (x + 0.5) / (2 * n_layers)

    parts = []
    for layer in range(n_layers):
        x0, x1 = px(2 * layer - 0.5), px(2 * layer + 1.5)
        parts.append(f'<rect class="layer" data-layer="{layer}" x="{x0:.1f}" y="20" width="{x1 - x0:.1f}" '
                     f'height="{H - 50}" fill="{"#f4f4f4" if layer % 2 else "#fbfbfb"}"/>')
        parts.append(f'<text x="{(x0 + x1) / 2:.1f}" y="{H - 12}" text-anchor="middle" font-size="11">layer {layer}</text>')
    for node, x, y, r in _layout(circuit, n_layers):
        kind = "head" if isinstance(node, HeadNode) else "neuron"
        color = "#1f77b4" if kind == "head" else "#ff7f0e"
        label = html.escape(f"{node} ({kind}) score {circuit.score(node):+.4g}")
        parts.append(f'<circle class="node {kind}" data-layer="{node.layer}" cx="{px(x):.1f}" cy="{30 + y * (H - 70):.1f}" '
                     f'r="{3 + 9 * r:.1f}" fill="{color}" fill-opacity="0.75" stroke="#333" stroke-width="0.5">'
                     f'<title>{label}</title></circle>')
    head = html.escape(title or f"{circuit.emotion} circuit: {len(circuit.heads)} heads, {len(circuit.neurons)} neurons")
    # Binds each graph once, whatever else is on the page: a page with several graphs (the
    # report) runs this script once per graph, and an already bound graph is skipped.
    script = (
        "document.querySelectorAll('svg.circuit:not([data-bound])').forEach(function(svg){"
        "svg.setAttribute('data-bound','1');svg.querySelectorAll('rect.layer').forEach(function(r){"
        "r.addEventListener('click',function(){var l=r.getAttribute('data-layer');var sel=svg.getAttribute('data-sel');"
        "svg.querySelectorAll('circle.node').forEach(function(c){"
        "c.setAttribute('fill-opacity',sel===l||c.getAttribute('data-layer')===l?'0.75':'0.15');});"
        "svg.setAttribute('data-sel',sel===l?'':l);});});});"
    )
    return (
        f'<div class="circuit-graph"><div style="font:14px sans-serif;margin:4px 0">{head} '
        f'<span style="color:#1f77b4">&#9679; heads</span> <span style="color:#ff7f0e">&#9679; neurons</span> '
        f'(hover a node; click a layer to highlight it)</div>'
        f'<svg class="circuit" xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}">'
        + "".join(parts) + f"</svg><script>{script}</script></div>"
    )
