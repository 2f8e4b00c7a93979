"""The notebooks in ``experiments/`` run clean offline: each is executed top to bottom in a
headless Jupyter kernel (nbclient, the ``python3`` kernel of this interpreter's ipykernel), and
every cell must finish without an error.

The kernel inherits the suite's offline settings (``HF_HUB_OFFLINE``) and runs single-threaded
(``OMP_NUM_THREADS=1``): emo-tiny's matrices are too small to gain from a second thread, and on
a machine whose two cores are shared, two OpenMP threads per process spend most of their time
waiting for each other (measured: the walkthrough ran 4x slower).

How long the walkthrough takes is measured by ``make bench`` (about 25 s on two idle cores, most
of it importing torch and TransformerLens in the kernel). ``pretrained.ipynb`` runs with its model sections skipped: the SmolLM2 cells take
minutes on a CPU (``CIRCUITS_NOTEBOOK_SMOLLM2=1`` runs them here too) and the pretrained model's
cells need a download (``CIRCUITS_NOTEBOOK_PRETRAINED=1`` runs them where the weights are
cached).
"""

from __future__ import annotations

import os
import sys
import time

import pytest

from circuits.paths import REPO_DIR

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

EXPERIMENTS = REPO_DIR / "experiments"


def kernel_name() -> str:
    """The kernel that runs this interpreter: jupyter_client starts ``python3`` with
    ``sys.executable`` (its spec says ``python``), found in this environment's kernelspecs or,
    failing that, in ipykernel itself."""
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("python3")
    assert spec.argv[0] in ("python", "python3", sys.executable), f"python3 kernel runs {spec.argv[0]}"
    return "python3"


def execute(name: str, timeout: int, **env: str) -> tuple[object, float]:
    nb = nbformat.read(EXPERIMENTS / name, as_version=4)
    client = nbclient.NotebookClient(nb, kernel_name=kernel_name(), timeout=timeout, allow_errors=False,
                                     resources={"metadata": {"path": str(EXPERIMENTS)}})
    start = time.perf_counter()
    client.execute(env={**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                        **env})
    seconds = time.perf_counter() - start
    print(f"\n{name}: executed in {seconds:.1f} s")
    return nb, seconds


def outputs(nb, kind: str) -> list[str]:
    """Every output of ``kind`` (``text/html`` or stream text) in cell order."""
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            if kind == "stream" and o.output_type == "stream":
                out.append(o.text)
            elif kind != "stream" and kind in o.get("data", {}):
                out.append(o.data[kind])
    return out


def test_walkthrough_runs_offline_and_shows_every_view():
    nb, _ = execute("walkthrough.ipynb", timeout=300)
    html = "\n".join(outputs(nb, "text/html"))
    # the views inline: tokens by direction, attention, top prompts, the circuit graph, replies
    for component in ("ColoredTokensMulti", "AttentionHeads", "TopkSamples"):
        assert f"CircuitsVis.{component}" in html, component
    assert '<svg class="circuit"' in html and '<table class="cv-replies">' in html
    assert "unpkg.com" not in html and "<script src" not in html
    # the replies without and with modulation, judged: modulating the circuit makes more of
    # them angry (greedy decoding, so this is deterministic for the shipped emo-tiny)
    lines = [line.split() for line in "".join(outputs(nb, "stream")).splitlines() if " judged anger: " in line]
    assert [words[0] for words in lines] == ["none", "circuit"]
    (none, n), (circuit, n_circuit) = [map(int, words[-1].split("/")) for words in lines]
    assert n == n_circuit > 0 and circuit > none, lines


def test_pretrained_notebook_runs_offline():
    run = {k: os.environ.get(k, "0") for k in ("CIRCUITS_NOTEBOOK_SMOLLM2", "CIRCUITS_NOTEBOOK_PRETRAINED")}
    nb, _ = execute("pretrained.ipynb", timeout=1800, CIRCUITS_ONLINE="0", **run)
    status = {line.split(":", 1)[0]: line.split(":", 1)[1].strip()
              for line in "".join(outputs(nb, "stream")).splitlines() if line.startswith("RUN ")}
    assert set(status) == {"RUN smollm2", "RUN pretrained"}, status
    if run["CIRCUITS_NOTEBOOK_SMOLLM2"] != "1":
        assert status["RUN smollm2"].startswith("skipped"), status
    if run["CIRCUITS_NOTEBOOK_PRETRAINED"] != "1":
        assert status["RUN pretrained"].startswith("skipped"), status


def test_notebooks_are_committed_clean():
    """Outputs cleared and execution counts empty, so diffs show code only."""
    names = sorted(p.name for p in EXPERIMENTS.glob("*.ipynb"))
    assert {"walkthrough.ipynb", "pretrained.ipynb"} <= set(names)
    for name in names:
        nb = nbformat.read(EXPERIMENTS / name, as_version=4)
        nbformat.validate(nb)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{name}: a cell has outputs"
        assert nb.metadata.get("kernelspec", {}).get("name") == "python3", name


def test_notebooks_use_only_the_public_api():
    """Every notebook reaches the framework through ``circuits`` itself (``import circuits as cc``
    or ``from circuits import ...``), never through its modules, in a handful of import lines."""
    import ast

    for path in sorted(EXPERIMENTS.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        tree = ast.parse("\n".join(c.source for c in nb.cells if c.cell_type == "code"))
        ours = [n for n in ast.walk(tree)
                if (isinstance(n, ast.Import) and any(a.name.split(".")[0] == "circuits" for a in n.names))
                or (isinstance(n, ast.ImportFrom) and (n.module or "").split(".")[0] == "circuits")]
        deep = [ast.unparse(n) for n in ours if "circuits." in ast.unparse(n)]
        assert ours and not deep, (path.name, deep)
        assert len(ours) <= 4, (path.name, [ast.unparse(n) for n in ours])
