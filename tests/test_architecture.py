"""The package's structure, read from its import statements (every ``import`` in every module,
inside functions too; only ``if TYPE_CHECKING:`` blocks, which never run, are left out).

- no cycle between the package's parts (a part is a subpackage such as ``circuits.circuit``, or
  a top-level module such as ``circuits.sites``);
- ``circuits.viz`` imports no stage, neither the config nor the runner, nor the model loader;
- no stage module imports another stage module;
- only ``circuits/model/`` imports TransformerLens;
- the vocabulary at the bottom imports no analysis code and no torch.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from circuits.paths import PACKAGE_DIR

MODULES = sorted(p for p in PACKAGE_DIR.rglob("*.py") if "conf" not in p.relative_to(PACKAGE_DIR).parts)


def module_name(path: Path) -> str:
    parts = ["circuits", *path.relative_to(PACKAGE_DIR).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports (``from pkg import name`` counts as ``pkg.name`` when that
    is a module of the package)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_lines(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in NAMES)
    return found


NAMES = {module_name(p) for p in MODULES}
IMPORTS = {module_name(p): imports_of(p) for p in MODULES}


def part(module: str) -> str:
    """The part a module belongs to: ``circuits.<subpackage>`` or the top-level module itself."""
    pieces = module.split(".")
    return ".".join(pieces[:2])


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for module, imported in IMPORTS.items():
        if module == "circuits":
            continue  # the public face: it imports everything, lazily, and nothing imports it
        for target in imported:
            if target in NAMES and target != "circuits" and part(target) != part(module):
                graph[part(module)].add(part(target))
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one part (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_graph_is_read_from_every_module():
    assert len(IMPORTS) > 60 and "circuits.stages.modulate" in IMPORTS
    assert "circuits.sites" in IMPORTS["circuits.nodes"]
    assert "circuits.layout" in IMPORTS["circuits.stages.elicit"]  # `from circuits import layout`


def test_no_cycle_between_the_parts_of_the_package():
    graph = package_graph()
    assert "circuits.attribution" in graph["circuits.circuit"]  # the graph has the arrows it should
    assert cycles(graph) == []


def test_the_cycle_finder_finds_cycles():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("module", sorted(m for m in IMPORTS if m.startswith("circuits.viz")))
def test_viz_reads_results_and_never_rebuilds_a_run(module):
    forbidden = ("circuits.stages", "circuits.config", "circuits.run", "circuits.validate", "circuits.model.loading")
    assert not [m for m in IMPORTS[module] if m.startswith(forbidden)]


@pytest.mark.parametrize("module", sorted(m for m in IMPORTS if m.startswith("circuits.stages.")))
def test_no_stage_imports_another_stage(module):
    from circuits.stages import STAGES

    stage_modules = {s.module for s in STAGES.values()}
    assert not (IMPORTS[module] & stage_modules) - {module}


def test_only_circuits_model_imports_transformer_lens():
    users = sorted(m for m, imported in IMPORTS.items() if any(i.split(".")[0] == "transformer_lens" for i in imported))
    assert users and all(m.startswith("circuits.model.") for m in users), users


@pytest.mark.parametrize("module", ["circuits.vocab", "circuits.layout", "circuits.sites", "circuits.config",
                                    "circuits.errors", "circuits.emotions"])
def test_the_vocabulary_imports_neither_torch_nor_analysis_code(module):
    code = f"import sys, {module}; print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'numpy', "
    code += "'transformer_lens') or m.startswith(('circuits.model', 'circuits.stages', 'circuits.directions'))))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]", proc.stdout
