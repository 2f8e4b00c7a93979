"""The cross-model view: finished runs of several models side by side, on relative depth.

Models differ in depth (emo-tiny 4 layers, SmolLM2 30, Qwen2.5-Coder-0.5B 24), so every site is
placed at its *relative depth*: the read-out after layer ``k``'s attention at ``(k + 0.25) / L``,
after its MLP at ``(k + 0.75) / L``, and layer ``k`` itself at ``(k + 0.5) / L``. From each run
directory (:func:`profile`) this reads only what its stages wrote:

- where linear probes first separate the six emotions (``directions``: the first read-out whose
  held-out probe accuracy reaches :data:`PROBE_BAR`);
- where sublayer importance peaks (``circuits``: the mean over emotions of each sublayer's
  causal influence on the reference segment);
- how the circuits' budget spreads over depth (``circuits``: the share of all circuit nodes in
  each layer, its centroid and spread);
- the cosine structure of the emotion directions (``directions``: the mean cosine between
  different emotions' directions at each read-out, and the emotion x emotion matrix averaged
  over the upper half of the network);
- the control table (``modulate``: each method's accuracy, perplexity relative to the
  unmodified replies, and repetition).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from circuits import layout
from circuits.artifacts import RunReader
from circuits.errors import UserError

PROBE_BAR = 0.9
"""Held-out probe accuracy (six classes, chance 1/6) at which the emotions count as separated."""

_SITE = re.compile(r"L(\d+)\.(attn|mlp)")


def site_depth(site: str, n_layers: int) -> float:
    """Relative depth of a read-out ``L<k>.attn`` / ``L<k>.mlp``."""
    m = _SITE.fullmatch(site)
    if m is None:
        raise ValueError(f"not a read-out site: {site!r}")
    return (int(m.group(1)) + (0.25 if m.group(2) == "attn" else 0.75)) / n_layers


@dataclass
class RunProfile:
    """What one finished run says, placed on relative depth."""

    model: str
    run: str
    n_layers: int
    probe: list[tuple[float, float]]
    """(depth, held-out probe accuracy) per read-out."""
    importance: list[tuple[float, float]]
    """(depth, sublayer importance, mean over emotions) per sublayer."""
    budget: list[tuple[float, float]]
    """(depth of the layer, share of all circuit nodes in it) per layer."""
    cosine_curve: list[tuple[float, float]]
    """(depth, mean cosine between different emotions' directions) per read-out."""
    emotions: list[str]
    cosines: np.ndarray
    """emotion x emotion cosines of the directions, averaged over the read-outs at depth >= 0.5."""
    control: dict[str, dict[str, Any]] = field(default_factory=dict)
    """method -> accuracy %, perplexity ratio, longest repeat, distinct-2, n (empty without modulate)."""

    @property
    def probe_first(self) -> float | None:
        return next((d for d, acc in self.probe if acc >= PROBE_BAR), None)

    @property
    def importance_peak(self) -> float:
        return max(self.importance, key=lambda p: p[1])[0]

    @property
    def budget_centroid(self) -> float:
        return float(sum(d * s for d, s in self.budget))

    @property
    def budget_spread(self) -> float:
        c = self.budget_centroid
        return float(np.sqrt(sum(s * (d - c) ** 2 for d, s in self.budget)))

    @property
    def off_diagonal(self) -> float:
        n = len(self.emotions)
        return float((self.cosines.sum() - np.trace(self.cosines)) / (n * n - n))


def _need(run: RunReader, stage: str, root: Path) -> None:
    if not run.done(stage):
        raise UserError(f"the run in {root} has not finished stage {stage}: finish it (e.g. `make reproduce` or "
                        f"`python -m circuits.run experiment=reproduce_real model=...`) or leave it out of compare.runs")


def profile(root: str | Path) -> RunProfile:
    """Read a finished run directory (stages directions and circuits at least; modulate for the
    control table) into a :class:`RunProfile`."""
    from circuits.directions.emotion_directions import EmotionDirections

    root = Path(root)
    if not (root / layout.MANIFEST).is_file():
        raise UserError(f"{root} is not a run directory (no {layout.MANIFEST}): run the experiment first, "
                        "or set compare.runs to finished run directories")
    run = RunReader(root)
    for stage in ("directions", "circuits"):
        _need(run, stage, root)
    m = run.metrics
    directions = EmotionDirections.load(run.path(layout.DIRECTIONS.directions.path()))
    n = directions.n_layers
    probe = [(site_depth(s, n), float(a)) for s, a in m["directions"]["probe_accuracy"].items()]
    cos_curve = [(site_depth(s, n), float(c)) for s, c in m["directions"]["emotion_cosine_offdiag_mean"].items()]
    importance = [(site_depth(s, n), float(v)) for s, v in m["circuits"]["importance_mean_over_emotions"].items()]
    nodes = np.zeros(n)
    for emotion in directions.emotions:
        rel = layout.CIRCUITS.circuit.path(emotion=emotion)
        if run.exists(rel):
            for kind in ("heads", "neurons"):
                for layer, count in run.read_json(rel)["layer_profile"][kind].items():
                    nodes[int(layer)] += count
    shares = nodes / nodes.sum() if nodes.sum() else nodes
    upper = [s for s in directions.sites if site_depth(str(s), n) >= 0.5]
    cosines = np.mean([directions.emotion_cosines(s).double().numpy() for s in upper], axis=0)
    control = {}
    if run.done("modulate"):
        t = m["modulate"]
        for method, s in t["methods"].items():
            control[method] = {"accuracy": s["accuracy"], "perplexity_ratio": t["perplexity_ratio"].get(method),
                               "longest_repeat": s["longest_repeat"], "distinct_2": s["distinct_2"], "n": s["n"]}
    return RunProfile(model=str(run.info.get("model", root.name)), run=str(root), n_layers=n, probe=sorted(probe),
                      importance=sorted(importance), budget=[((k + 0.5) / n, float(shares[k])) for k in range(n)],
                      cosine_curve=sorted(cos_curve), emotions=list(directions.emotions), cosines=cosines,
                      control=control)


def _r(x: float | None, nd: int = 2) -> float | None:
    return None if x is None else round(float(x), nd)


def summary_rows(profiles: Sequence[RunProfile]) -> tuple[list[str], list[list[Any]]]:
    """One row per model: the depth landmarks and the headline control numbers."""
    header = ["model", "layers", f"probes separate (depth, acc >= {PROBE_BAR})", "best probe acc",
              "importance peak (depth)", "circuit budget centroid (depth)", "budget spread (sd)",
              "emotion cos, upper half (mean off-diag)", "prompting %", "circuit % (ppl x)",
              "study circuit % (ppl x)", "steering % (ppl x)", "random %", "circuit - prompting (points)"]
    rows = []
    for p in profiles:
        c = p.control

        def acc(method: str, ppl: bool = False, c=c) -> Any:
            if method not in c:
                return None
            a = c[method]["accuracy"]
            return f"{a:.1f} ({c[method]['perplexity_ratio']:.2f}x)" if ppl and c[method]["perplexity_ratio"] else a

        gap = (c["circuit"]["accuracy"] - c["prompting"]["accuracy"]) if "circuit" in c and "prompting" in c else None
        rows.append([p.model, p.n_layers, _r(p.probe_first), _r(max(a for _, a in p.probe), 3), _r(p.importance_peak),
                     _r(p.budget_centroid), _r(p.budget_spread), _r(p.off_diagonal, 3), acc("prompting"),
                     acc("circuit", True), acc("circuit_study", True), acc("steering", True), acc("random"), _r(gap, 1)])
    return header, rows


def control_rows(profiles: Sequence[RunProfile]) -> tuple[list[str], list[list[Any]]]:
    """The control table of every model, long form: model x method."""
    header = ["model", "method", "accuracy %", "perplexity x unmodified", "longest repeat", "distinct-2", "n"]
    rows = [[p.model, method, s["accuracy"], _r(s["perplexity_ratio"]), s["longest_repeat"], s["distinct_2"], s["n"]]
            for p in profiles for method, s in p.control.items()]
    return header, rows
