"""The README's Python example runs as written (on emo-tiny, offline)."""

from __future__ import annotations

import re

from circuits.paths import REPO_DIR


def test_the_python_example_of_the_readme_runs():
    text = (REPO_DIR / "README.md").read_text(encoding="utf-8")
    section = text.split("## In Python", 1)[1]
    [code] = re.findall(r"```python\n(.*?)```", section.split("\n## ", 1)[0], re.S)
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)  # noqa: S102 - the README's own example
    assert scope["circuit"].emotion == "anger" and len(scope["replies"]) == len(scope["neutral"])
    assert scope["model"].n_active_hooks() == 0
