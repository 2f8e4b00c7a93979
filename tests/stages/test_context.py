"""The stage-reuse contract: which configuration change reruns which stage, reloading a finished
stage instead of rerunning it, and every artifact written where the run-directory contract
(:mod:`circuits.layout`) declares it."""

from __future__ import annotations

import json
import shutil

import pytest

from circuits import layout
from circuits.artifacts import RunDir, RunReader
from circuits.run import compose, load_run_config
from circuits.stages import STAGES
from circuits.stages.context import RunContext
from circuits.vocab import StageName as S

ANALYSIS = [S.ELICIT, S.DIRECTIONS, S.STEER, S.COMPONENTS, S.CIRCUITS, S.MODULATE, S.SUMMARY, S.REPORT]


def _hashes(tmp_path, *overrides) -> dict[S, str]:
    ctx = RunContext(compose(["experiment=reproduce", "model.device=cpu", *overrides]), RunDir(tmp_path))
    return {s: ctx.stage_hash(s) for s in ANALYSIS}


@pytest.mark.parametrize(("override", "rerun"), [
    ("modulate.fluency_factor=3.0", {S.MODULATE}),
    ("steering.alpha=4.0", {S.STEER, S.MODULATE}),
    ("circuit.necessity_draws=2", {S.CIRCUITS, S.MODULATE}),
    ("components.random_draws=3", {S.COMPONENTS, S.CIRCUITS, S.MODULATE}),
    ("reference.threshold=0.8", {S.COMPONENTS, S.CIRCUITS, S.MODULATE}),
    ("directions.probes=false", {S.DIRECTIONS, S.STEER, S.COMPONENTS, S.CIRCUITS, S.MODULATE}),
    ("judge.kind=keyword", {S.ELICIT, S.DIRECTIONS, S.STEER, S.COMPONENTS, S.CIRCUITS, S.MODULATE}),
    ("data.per_theme=2", {S.ELICIT, S.DIRECTIONS, S.STEER, S.COMPONENTS, S.CIRCUITS, S.MODULATE}),
    ("model.template=user", set(ANALYSIS)),
    ("progress=false", set()),
    ("out_dir=/elsewhere", set()),
])
def test_a_config_change_reruns_exactly_the_stages_that_read_it(tmp_path, override, rerun):
    """A stage's hash covers the sections it reads and the hashes of the stages it requires, so
    a change reruns that stage and everything downstream of it, and nothing else."""
    before, after = _hashes(tmp_path), _hashes(tmp_path, override)
    assert {s for s in ANALYSIS if before[s] != after[s]} == rerun


def test_every_required_stage_is_registered_before_the_stages_that_need_it():
    order = list(STAGES)
    for name, stage in STAGES.items():
        assert all(order.index(r) < order.index(name) for r in stage.requires), name


@pytest.fixture
def run_copy(small_run, tmp_path):
    dst = tmp_path / "run"
    shutil.copytree(small_run, dst)
    return dst


def test_a_finished_stage_is_reloaded_not_rerun(run_copy, monkeypatch):
    """Same config: every requested stage with a loader comes back from the run directory
    without running; a stage whose section changed runs again (here: it would raise)."""
    def never(ctx):
        raise AssertionError("ran a stage the manifest says is done with this configuration")

    for name in (S.ELICIT, S.DIRECTIONS, S.COMPONENTS, S.CIRCUITS):
        monkeypatch.setattr(STAGES[name]._module(), "run", never)
    ctx = RunContext(load_run_config(run_copy), RunDir(run_copy))
    circuits = ctx.result(S.CIRCUITS)
    assert set(circuits.circuits) == set(ctx.emotions)
    assert ctx.elicitation.groups and ctx.directions.n_layers == ctx.components.neurons.scores.shape[1]

    changed = load_run_config(run_copy)
    changed.circuit.necessity_draws += 1
    again = RunContext(changed, RunDir(run_copy))
    with pytest.raises(AssertionError, match="ran a stage"):
        again.result(S.CIRCUITS)
    assert again.run.done(S.COMPONENTS) and not again.run.done(S.CIRCUITS)  # the failed rerun is recorded


def test_every_artifact_sits_where_its_stage_declares_it(small_run):
    run = RunReader(small_run)
    stages = run.manifest["stages"]
    assert set(stages) == {str(s) for s in ANALYSIS}
    for name, entry in stages.items():
        files = layout.FILES[S(name)]
        assert entry["artifacts"], name
        undeclared = [a for a in entry["artifacts"] if not files.declares(a)]
        assert not undeclared, (name, undeclared)
    assert set(run.manifest["artifacts"]) - {a for e in stages.values() for a in e["artifacts"]} == {layout.CONFIG}


def test_the_layout_matches_only_its_own_files():
    a = layout.ELICIT.replies
    assert a.path(split="test", template="user") == "elicit/replies_test_user.jsonl"
    assert a.matches("elicit/replies_test_user.jsonl") and not a.matches("elicit/replies_test_user.jsonl.tmp")
    assert not a.matches("elicit/sub/replies_a_b.jsonl")
    assert layout.MODULATE.methods.file(".csv") == "modulate/methods.csv"
    with pytest.raises(ValueError, match="no '.png' file"):
        layout.MODULATE.methods.file(".png")
    assert not layout.ELICIT.declares("circuits/circuit_anger.json")


def _count_runs(monkeypatch) -> dict[S, int]:
    """Wrap every stage's ``run`` so a test can see which stages ran (they still run)."""
    calls: dict[S, int] = {}
    for name, stage in STAGES.items():
        module = stage._module()

        def counted(ctx, _real=module.run, _name=name):
            calls[_name] = calls.get(_name, 0) + 1
            return _real(ctx)

        monkeypatch.setattr(module, "run", counted)
    return calls


@pytest.mark.parametrize("damage", ["edit", "truncate", "metrics"])
def test_a_damaged_artifact_is_detected_and_its_stage_and_what_depends_on_it_recompute(run_copy, monkeypatch,
                                                                                       caplog, damage):
    """An artifact edited (still parseable), truncated, or a metrics section changed: its sha256
    no longer matches the manifest, so the stage runs again (with a log line), and so do the
    stages that read it; the recomputed artifact is the original again (deterministic)."""
    import logging

    rel = layout.DIRECTIONS.directions.file(".json")
    original = (run_copy / rel).read_bytes()
    if damage == "edit":
        meta = json.loads(original)
        meta["n_groups"] += 1
        (run_copy / rel).write_text(json.dumps(meta))
    elif damage == "truncate":
        (run_copy / rel).write_bytes(original[: len(original) // 2])
    else:
        metrics = json.loads((run_copy / layout.METRICS).read_text())
        metrics["directions"]["n_groups"] += 1
        (run_copy / layout.METRICS).write_text(json.dumps(metrics))
    calls = _count_runs(monkeypatch)
    ctx = RunContext(load_run_config(run_copy), RunDir(run_copy))
    with caplog.at_level(logging.WARNING, logger="circuits.artifacts"):
        ctx.result(S.COMPONENTS)
    assert calls == {S.DIRECTIONS: 1, S.COMPONENTS: 1}
    assert any("stage directions:" in r.message and "recomputing" in r.message for r in caplog.records)
    assert (run_copy / rel).read_bytes() == original
    assert ctx.run.done(S.DIRECTIONS) and ctx.run.done(S.COMPONENTS)
    assert not ctx.run.done(S.CIRCUITS) and ctx.run.stage_entry(S.CIRCUITS)["status"] == "stale"


def test_a_rerun_reuses_every_finished_stage_and_rebuilds_only_the_summary_and_report(run_copy, monkeypatch):
    from circuits.run import run

    calls = _count_runs(monkeypatch)
    run(load_run_config(run_copy))
    assert calls == {S.SUMMARY: 1, S.REPORT: 1}
    assert all(e["status"] == "done" for e in json.loads((run_copy / layout.MANIFEST).read_text())["stages"].values())


def test_a_failed_rerun_under_another_config_leaves_no_stage_done_under_a_config_it_was_not_made_with(run_copy,
                                                                                                    monkeypatch):
    """The user changes the elicitation and the rerun fails in it: the stages made under the old
    configuration no longer count as done, so nothing stale is reused or reported as finished."""
    from circuits.run import run

    def broken(ctx):
        raise RuntimeError("elicitation failed")

    monkeypatch.setattr(STAGES[S.ELICIT]._module(), "run", broken)
    cfg = load_run_config(run_copy)
    cfg.elicit.filter = False
    with pytest.raises(RuntimeError, match="elicitation failed"):
        run(cfg)
    ctx = RunContext(cfg, RunDir(run_copy))
    stages = json.loads((run_copy / layout.MANIFEST).read_text())["stages"]
    assert stages["elicit"]["status"] == "failed"
    done = [n for n, e in stages.items() if e["status"] == "done"]
    assert all(stages[n]["config_hash"] == ctx.stage_hash(S(n)) for n in done), done
    assert {n for n, e in stages.items() if e["status"] == "stale"} >= {"directions", "components", "circuits", "modulate"}
