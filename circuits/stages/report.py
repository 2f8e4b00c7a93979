"""Stage ``report``: one self-contained ``report.html`` with every figure, table and view of the run.

It only reads what the other stages wrote (see :func:`circuits.viz.report.build_report`), so it
can be rerun alone on a finished or partial run directory
(``python -m circuits.run experiment=<name> out_dir=<run> experiment.stages=[report]``). The
model the run already loaded is reused for the views.
"""

from __future__ import annotations

from pathlib import Path

from circuits.viz.report import build_report


def run(ctx) -> Path:
    return ctx.run.write_text("report.html", build_report(ctx.run.root, model=ctx.model))
