"""One real run for the view, report and browser tests: the ``reproduce`` experiment on emo-tiny,
shrunk to a few prompts, through the real runner, once per test session.

Every stage runs (elicit, directions, steer, components, circuits, modulate, summary, report), so
the views are built from the artifacts a real run writes, and ``report.html`` is written by the
report stage. Set ``CIRCUITS_VIZ_RUN=<run dir>`` to reuse a finished run directory instead (it
must come from the same experiment); the tests then skip building one.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

SMALL_REPRODUCE = [
    "experiment=reproduce",
    "data.per_theme=1",
    "elicit.templates=[system]",
    "decoding.max_new_tokens=32",
    "components.max_prompts=12",
    "components.validate_prompts=6",
    "components.validate_ks_max=4",
    "components.random_draws=2",
    "components.generate_k=0",
    "components.metrics=[same_layer]",
    "circuit.max_prompts=12",
    "circuit.size_multipliers=[1.0]",
    "circuit.necessity_draws=3",
    "modulate.per_theme=1",
    "modulate.calibrate=false",
    "modulate.sweep_multipliers=[1.0]",
    "modulate.sweep_per_theme=1",
    "progress=false",
]
"""The reproduce experiment at its smallest: one skeleton per theme, short replies, few draws."""


@pytest.fixture(scope="session")
def viz_run(tmp_path_factory) -> Path:
    """A finished run directory of the small reproduce experiment on emo-tiny."""
    reuse = os.environ.get("CIRCUITS_VIZ_RUN")
    if reuse:
        return Path(reuse)
    from circuits.run import compose, run

    out = tmp_path_factory.mktemp("viz") / "run"
    start = time.perf_counter()
    run(compose([*SMALL_REPRODUCE, f"out_dir={out}"]))
    print(f"\nviz_run: the small reproduce run took {time.perf_counter() - start:.1f} s")
    return out
