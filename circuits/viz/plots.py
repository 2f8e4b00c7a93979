"""Static figures (matplotlib, PNG): one function per figure, each returns a Figure.

No global style is set and nothing is drawn at import; the Agg backend is selected only when a
figure is made, so importing :mod:`circuits.viz` has no side effects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from circuits.sites import resid_sites


def _plt():
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def site_labels(n_layers: int) -> list[str]:
    """The 2L read-outs' labels in depth order: L0.attn, L0.mlp, L1.attn, ..."""
    return [str(site) for site in resid_sites(n_layers)]


def consistency_figure(curves: Mapping[str, np.ndarray], emotions: Sequence[str], n_layers: int, title: str):
    """Cosine between directions from disjoint data, per read-out: mean over emotions (line)
    and the worst emotion (dotted)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * 2 * n_layers + 2), 3.6))
    x = np.arange(2 * n_layers)
    for i, (name, arr) in enumerate(curves.items()):
        color = f"C{i}"
        ax.plot(x, arr.mean(axis=0), color=color, marker="o", ms=3, label=f"{name} (mean)")
        ax.plot(x, arr.min(axis=0), color=color, ls=":", lw=1, label=f"{name} (worst emotion)")
    ax.axhline(0.9, color="grey", lw=0.8, ls="--")
    ax.set_xticks(x, site_labels(n_layers), rotation=90 if n_layers > 8 else 0, fontsize=7)
    ax.set_ylim(min(0, float(np.nanmin([a.min() for a in curves.values()]))) - 0.05, 1.02)
    ax.set_ylabel("cosine")
    ax.set_title(title)
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    return fig


def heatmap_grid(mats: np.ndarray, titles: Sequence[str], tick_labels: Sequence[str], suptitle: str,
                 vmin: float = -1, vmax: float = 1, cmap: str = "RdBu_r"):
    plt = _plt()
    n = len(mats)
    cols = min(3, n)
    rows = (n + cols - 1) // cols
    size = 2.2 + 0.12 * len(tick_labels)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * size, rows * size), squeeze=False)
    for ax, mat, t in zip(axes.flat, mats, titles):
        im = ax.imshow(mat, vmin=vmin, vmax=vmax, cmap=cmap)
        ax.set_title(t, fontsize=9)
        step = max(1, len(tick_labels) // 16)
        ticks = np.arange(0, len(tick_labels), step)
        ax.set_xticks(ticks, [tick_labels[i] for i in ticks], rotation=90, fontsize=6)
        ax.set_yticks(ticks, [tick_labels[i] for i in ticks], fontsize=6)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.colorbar(im, ax=axes, shrink=0.6)
    fig.suptitle(suptitle)
    return fig


def probe_figure(probe: Mapping[str, float], chance: float, title: str, embed: float | None = None):
    plt = _plt()
    names = list(probe)
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * len(names) + 2), 3.4))
    ax.plot(range(len(names)), [probe[n] for n in names], marker="o", ms=3, label="probe (held-out skeletons)")
    if embed is not None:
        ax.scatter([-1], [embed], color="C3", zorder=3, label="token embedding")
        ax.set_xlim(-1.5, len(names) - 0.5)
    ax.axhline(chance, color="grey", ls="--", lw=0.8, label="chance")
    ax.set_xticks(range(len(names)), names, rotation=90 if len(names) > 16 else 0, fontsize=7)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("accuracy")
    ax.set_title(title)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return fig


def bars_figure(groups: Mapping[str, Mapping[str, float]], title: str, ylabel: str, ylim=(0, 100), hline=None):
    """Grouped bars: outer keys on the x axis, inner keys as series (e.g. emotion x method)."""
    plt = _plt()
    outer = list(groups)
    inner = list(dict.fromkeys(k for g in groups.values() for k in g))
    width = 0.8 / max(1, len(inner))
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(outer) + 2), 3.6))
    for i, name in enumerate(inner):
        vals = [groups[o].get(name, np.nan) for o in outer]
        ax.bar(np.arange(len(outer)) + (i - (len(inner) - 1) / 2) * width, vals, width, label=name)
    if hline is not None:
        ax.axhline(hline, color="grey", ls="--", lw=0.8)
    ax.set_xticks(range(len(outer)), outer, fontsize=8)
    ax.set_ylim(*ylim)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=7, ncol=min(4, len(inner)))
    ax.grid(alpha=0.3, axis="y")
    return fig


def validation_figure(curves: Mapping[str, Mapping], emotions: Sequence[str]):
    """Per emotion: projection change vs k for top-k and random-k, ablated and enhanced."""
    plt = _plt()
    fig, axes = plt.subplots(2, len(emotions), figsize=(2.6 * len(emotions), 5.2), squeeze=False, sharex=True)
    for col, emotion in enumerate(emotions):
        for row, mode in enumerate(("ablate", "enhance")):
            ax = axes[row, col]
            for i, kind in enumerate(("neurons", "heads")):
                cv = curves[emotion][kind]
                ks = np.array(cv["k"])
                top = np.array(cv[mode]["top"])
                rm, rs = np.array(cv[mode]["random_mean"]), np.array(cv[mode]["random_std"])
                ax.plot(ks, top, marker="o", ms=3, color=f"C{i}", label=f"top {kind}")
                ax.plot(ks, rm, ls="--", color=f"C{i}", label=f"random {kind}")
                ax.fill_between(ks, rm - rs, rm + rs, color=f"C{i}", alpha=0.15)
            ax.axhline(0, color="grey", lw=0.6)
            ax.set_xscale("log", base=2)
            if row == 0:
                ax.set_title(emotion, fontsize=9)
            if col == 0:
                ax.set_ylabel(f"{mode}: change of projection", fontsize=8)
            if row == 1:
                ax.set_xlabel("k")
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=6)
    fig.suptitle("ablating / enhancing top-k components vs random-k (same layers)")
    fig.tight_layout()
    return fig


def tradeoff_figure(sweeps: Mapping[str, Sequence[Mapping]], points: Mapping[str, Mapping], limit: float, title: str):
    """Accuracy against median perplexity: a line per swept method, a marker per fixed one."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for i, (name, pts) in enumerate(sweeps.items()):
        xs = [p["median_perplexity"] for p in pts]
        ys = [p["accuracy"] for p in pts]
        ax.plot(xs, ys, marker="o", color=f"C{i}", label=f"{name} (sweep)")
        for p in pts:
            ax.annotate(f"{p['strength']:g}", (p["median_perplexity"], p["accuracy"]), fontsize=7,
                        textcoords="offset points", xytext=(3, 3))
    for j, (name, s) in enumerate(points.items()):
        ax.scatter([s["median_perplexity"]], [s["accuracy"]], marker="s", s=40, color=f"C{j + len(sweeps)}", label=name,
                   zorder=3)
    if limit and limit != float("inf"):
        ax.axvline(limit, color="grey", ls="--", lw=0.8, label="matched-fluency limit")
    ax.set_xscale("log")
    ax.set_xlabel("median perplexity of replies (unmodified model, neutral prompt)")
    ax.set_ylabel("emotion-expression accuracy %")
    ax.set_ylim(-2, 102)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return fig


def importance_figure(curves: Mapping[str, Mapping[str, Sequence[float]]], n_layers: int):
    """Injection importance per layer, one panel per sublayer kind (``attn``, ``mlp``), a line
    per emotion: ``curves[emotion][sublayer]`` holds one value per layer."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), sharey=False)
    for sub, ax in zip(("attn", "mlp"), axes):
        for i, e in enumerate(curves):
            ax.plot(range(n_layers), curves[e][sub], marker="o", ms=3, label=e, color=f"C{i}")
        ax.axhline(0, color="grey", lw=0.6)
        ax.set_title(f"{sub} sublayers: injection importance I")
        ax.set_xlabel("layer")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    return fig


def allocation_figure(profiles: Mapping[str, Mapping[str, Mapping[int, int]]], n_layers: int):
    """Neurons and heads per layer of each emotion's circuit (``Circuit.layer_profile()`` by emotion)."""
    plt = _plt()
    emotions = list(profiles)
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
    for ax, kind in zip(axes, ("neurons", "heads")):
        width = 0.8 / len(emotions)
        for i, e in enumerate(emotions):
            prof = profiles[e][kind]
            ax.bar(np.arange(n_layers) + (i - (len(emotions) - 1) / 2) * width,
                   [prof.get(layer, 0) for layer in range(n_layers)], width, label=e, color=f"C{i}")
        ax.set_xticks(range(n_layers), [f"L{layer}" for layer in range(n_layers)], fontsize=7)
        ax.set_title(f"{kind} per layer")
    axes[0].legend(fontsize=7)
    return fig


def size_curve_figure(size_curve: Mapping[str, Mapping[str, Sequence[float]]]):
    """Necessity margin and faithfulness against the circuit budget (multiples of the study's)."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    for i, e in enumerate(size_curve):
        m = size_curve[e]
        axes[0].plot(m["multiplier"], m["necessity_margin"], marker="o", label=e, color=f"C{i}")
        axes[1].plot(m["multiplier"], m["faithfulness"], marker="o", label=e, color=f"C{i}")
    for ax, t in zip(axes, ("necessity margin (drop - random drop)", "faithfulness (circuit / whole layers)")):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("budget x study default")
        ax.set_title(t, fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    return fig


def loss_figure(losses: Sequence[float]):
    """The training loss curve (log scale)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.plot(losses, lw=0.8)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("reply-token cross-entropy")
    ax.set_title("emo-tiny training loss")
    ax.grid(alpha=0.3)
    return fig


def depth_figure(profiles: Sequence, probe_bar: float):
    """The cross-model view (:mod:`circuits.evaluation.crossmodel` profiles): four panels on relative depth, one line per model: probe accuracy, sublayer importance
    (scaled to its peak), the circuits' budget share per layer, and the mean cosine between
    different emotions' directions."""
    plt = _plt()
    fig, axes = plt.subplots(1, 4, figsize=(17, 3.8))
    panels = [
        ("probe", "held-out probe accuracy", "where probes separate the emotions"),
        ("importance", "importance / peak", "sublayer importance"),
        ("budget", "share of circuit nodes x layers", "circuit budget per layer (1 = uniform)"),
        ("cosine_curve", "mean cosine, different emotions", "direction cosine structure"),
    ]
    for ax, (key, ylabel, title) in zip(axes, panels):
        for p in profiles:
            pts = getattr(p, key)
            xs = [d for d, _ in pts]
            ys = np.array([v for _, v in pts], dtype=float)
            if key == "importance" and ys.max() > 0:
                ys = ys / ys.max()
            if key == "budget":  # a density: models of different depth on one scale (1 = uniform)
                ys = ys * p.n_layers
            ax.plot(xs, ys, marker="o", ms=3, label=f"{p.model} ({p.n_layers} layers)")
        if key == "probe":
            ax.axhline(probe_bar, color="grey", lw=0.8, ls="--")
            ax.axhline(1 / 6, color="grey", lw=0.8, ls=":")
        ax.set_xlim(0, 1)
        ax.set_xlabel("relative depth (layer / layers)")
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=10)
    axes[0].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def cosines_figure(profiles: Sequence):
    """Each model's emotion x emotion direction cosines (upper half of the network)."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(profiles), figsize=(4.2 * len(profiles), 3.8), squeeze=False)
    for ax, p in zip(axes[0], profiles):
        im = ax.imshow(p.cosines, vmin=-1, vmax=1, cmap="RdBu_r")
        ax.set_xticks(range(len(p.emotions)), [e[:4] for e in p.emotions], fontsize=8)
        ax.set_yticks(range(len(p.emotions)), [e[:4] for e in p.emotions], fontsize=8)
        ax.set_title(f"{p.model}\nmean off-diagonal {p.off_diagonal:+.2f}", fontsize=9)
        for i in range(len(p.emotions)):
            for j in range(len(p.emotions)):
                ax.text(j, i, f"{p.cosines[i, j]:.2f}", ha="center", va="center", fontsize=6)
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8)
    return fig
