"""Stage ``compare``: finished runs of several models side by side, on relative depth.

It reads the run directories of ``compare.runs`` (:mod:`circuits.evaluation.crossmodel`) and
writes one table (``compare/models``: where probes separate the emotions, where sublayer
importance peaks, how the circuit budget spreads, the direction cosines, the headline control
numbers), the control tables of all models in long form, and two figures. It loads no model,
so it takes seconds: ``python -m circuits.run experiment=compare``.
"""

from __future__ import annotations

import logging

from circuits import layout
from circuits.errors import UserError
from circuits.evaluation import crossmodel
from circuits.evaluation.tables import write_table
from circuits.stages.context import RunContext
from circuits.viz import plots

log = logging.getLogger(__name__)

FILES = layout.COMPARE


def run(ctx: RunContext) -> dict:
    runs = list(ctx.cfg.compare.runs)
    if len(runs) < 2:
        raise UserError(f"compare.runs names {len(runs)} run(s): compare needs at least two finished runs")
    profiles = [crossmodel.profile(r) for r in runs]
    header, rows = crossmodel.summary_rows(profiles)
    md = write_table(ctx.run, FILES.models.path(), header, rows)
    write_table(ctx.run, FILES.control.path(), *crossmodel.control_rows(profiles))
    ctx.run.save_figure(FILES.depth.path(), plots.depth_figure(profiles, crossmodel.PROBE_BAR))
    ctx.run.save_figure(FILES.cosines.path(), plots.cosines_figure(profiles))
    ctx.run.write_json(FILES.profiles.path(), [
        {"model": p.model, "run": p.run, "n_layers": p.n_layers, "probe": p.probe, "importance": p.importance,
         "budget": p.budget, "cosine_curve": p.cosine_curve, "emotions": p.emotions,
         "cosines": p.cosines.round(4).tolist(), "control": p.control} for p in profiles])
    log.info("cross-model comparison of %d runs:\n%s", len(profiles), md)
    result = {"models": [p.model for p in profiles], "runs": runs,
              "rows": [dict(zip(header, row)) for row in rows]}
    ctx.run.add_metrics("compare", result)
    ctx.run.set_run_info(model=" vs ".join(p.model for p in profiles))
    return result
