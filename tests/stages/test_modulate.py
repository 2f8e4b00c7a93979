"""The control stage's shortcuts against doing the work again, on a real (small) run."""

from __future__ import annotations

import json

import pytest

from circuits.artifacts import RunDir
from circuits.pipeline import RunContext
from circuits.run import load_run_config


@pytest.fixture(scope="module")
def ctx(viz_run):
    return RunContext(load_run_config(viz_run), RunDir(viz_run))


def test_unmodified_replies_are_generated_once_and_equal_a_fresh_generation(ctx, monkeypatch):
    import circuits.stages.modulate as stage

    split = ctx.split("test").subset(1, ctx.cfg.data.subset_seed)
    calls = []
    real = stage.generate
    monkeypatch.setattr(stage, "generate", lambda *a, **k: calls.append(1) or real(*a, **k))
    runner = stage.Runner(ctx, split)
    first = runner.run("none", "anger")
    second = runner.run("none", "fear")
    assert len(calls) == 1
    fresh = stage.Runner(ctx, split).run("none", "fear")
    assert len(calls) == 2
    assert second == fresh  # same replies, labels, perplexities; scored against the new target
    assert [r["reply"] for r in first] == [r["reply"] for r in second]
    assert all(r["target"] == "fear" for r in second)


def test_sweep_at_the_chosen_strength_reuses_exactly_the_headline_replies(viz_run):
    """With one skeleton per theme the sweep's prompts are the headline's, so x1 is not rerun:
    its records are the headline records of that method."""
    def read(name):
        return [json.loads(line) for line in (viz_run / "modulate" / name).read_text().splitlines()]

    headline, sweep = read("replies.jsonl"), read("sweep_replies.jsonl")
    for method in ("circuit", "steering"):
        want = [r for r in headline if r["method"] == method]
        got = [{k: v for k, v in r.items() if k != "multiplier"} for r in sweep
               if r["method"] == method and r["multiplier"] == 1.0]
        assert got == want and len(want) > 0


def test_neutral_anchor_gives_circuit_and_random_the_anchored_vectors(viz_run, tmp_path, monkeypatch):
    """``modulate.anchor=neutral``: circuit and random get mu_e - mu_neutral in the prompt phase
    (read once per run, saved), the reply phase and the study-style method are unchanged."""
    import shutil

    import torch

    import circuits.stages.modulate as stage
    from circuits.data.prompts import Template, build_prompts
    from circuits.modulation.vectors import InterventionVectors, neutral_anchored
    from circuits.stages.directions import discovery_prompts

    run_dir = tmp_path / "run"
    shutil.copytree(viz_run, run_dir)
    cfg = load_run_config(run_dir)
    cfg.modulate.anchor = "neutral"
    ctx = RunContext(cfg, RunDir(run_dir))
    split = ctx.split("test").subset(1, cfg.data.subset_seed)
    runner = stage.Runner(ctx, split)
    study = ctx.result("circuits").vectors

    emotional = discovery_prompts(ctx, ctx.result("elicit").groups)
    neutral = build_prompts(ctx.model.render_chat, ctx.split("discovery"), [None], Template(cfg.model.template))
    neurons, heads, n = neutral_anchored(ctx.model, emotional, neutral, ctx.emotions, batch_size=7)
    assert runner.vectors.n_groups == n > 0
    assert torch.allclose(runner.vectors.neurons, neurons, atol=1e-4)
    assert torch.allclose(runner.vectors.heads, heads, atol=1e-4)
    assert runner.vectors.reply_heads is study.reply_heads and not torch.allclose(runner.vectors.heads, study.heads)
    saved = InterventionVectors.load(run_dir / "modulate" / "anchored_vectors")
    assert torch.equal(saved.heads, runner.vectors.heads) and torch.equal(saved.reply_neurons, study.reply_neurons)
    assert stage.Runner(ctx, split).vectors is runner.vectors  # read once per run

    used = []
    monkeypatch.setattr(stage, "modulate", lambda model, circuit, vectors, *a, **k: used.append((circuit, vectors)))
    for method in ("circuit", "random", "circuit_study"):
        runner.context(method, "fear", stage.Strength())
    fear = ctx.result("circuits").circuits["fear"]
    assert used == [(fear, runner.vectors), (runner.random_draws[0]["fear"], runner.vectors), (fear, study)]


def test_random_control_pools_disjoint_draws(ctx):
    """``modulate.random_draws=2``: two different random circuits per emotion, none sharing a node
    with the circuit; their replies are pooled, draw 0's equal the single-draw control's."""
    import copy

    import circuits.stages.modulate as stage

    def with_draws(k):
        cfg = copy.deepcopy(ctx.cfg)
        cfg.modulate.random_draws = k
        return RunContext(cfg, ctx.run)

    two = with_draws(2)
    cfg = two.cfg
    split = two.split("test").subset(1, cfg.data.subset_seed)
    runner = stage.Runner(two, split)
    fear = two.result("circuits").circuits["fear"]
    a, b = (d["fear"] for d in runner.random_draws)
    assert a != b and not (a.nodes & fear.nodes) and not (b.nodes & fear.nodes)
    assert a.layer_profile() == b.layer_profile() == fear.layer_profile()
    strength = stage.Strength(2.0, 1.0, True)
    recs = runner.run("random", "fear", strength)
    n = len(runner.neutral)
    assert [r["draw"] for r in recs] == [0] * n + [1] * n
    single = stage.Runner(with_draws(1), split).run("random", "fear", strength)
    assert len(single) == n
    assert [r["reply"] for r in recs[:n]] == [r["reply"] for r in single]


def test_calibration_searches_prompt_x_reply_x_steps_and_keeps_the_fluency_limit(viz_run, tmp_path, monkeypatch):
    """Calibration tries every (prompt scale, reply scale, reply steps) of the grids and picks, by
    the one rule, the most accurate setting within the fluency limit, not a more accurate one
    beyond it. Replies are stubbed: this checks the search and the rule, not generation."""
    import shutil

    import circuits.stages.modulate as stage

    run_dir = tmp_path / "run"
    shutil.copytree(viz_run, run_dir)
    cfg = load_run_config(run_dir)
    m = cfg.modulate
    m.prompt_scale_grid, m.reply_scale_grid, m.reply_steps_grid = [1.0, 2.0], [1.0, 3.0], [None, 2]
    m.alpha_grid, m.study_scale_grid, m.fluency_factor = [4.0], [1.0], 2.0
    ctx = RunContext(cfg, RunDir(run_dir))
    reply_on = stage._reply_on(ctx)
    best, too_rough = stage.Strength(1.0, 3.0, reply_on, 2), stage.Strength(2.0, 3.0, reply_on, None)
    seen = []

    def fake_run(self, method, emotion, strength=0.0, desc=""):
        seen.append((method, emotion, strength))
        acc, ppl = {best: (0.9, 1.9), too_rough: (1.0, 2.5)}.get(strength, (0.5, 1.2))
        return [{"correct": i < 10 * acc, "perplexity": 1.0 if method == "none" else ppl, "distinct_2": 1.0,
                 "longest_repeat": 1} for i in range(10)]

    monkeypatch.setattr(stage.Runner, "run", fake_run)
    cal = stage.calibrate(ctx)
    assert cal["limit"] == 2.0
    tried = {s for meth, e, s in seen if meth == "circuit" and e == "fear"}
    assert tried == {stage.Strength(p, r, reply_on, k) for p in (1.0, 2.0) for r in (1.0, 3.0) for k in (None, 2)}
    assert all(cal["strengths"]["circuit"][e] == best for e in ctx.emotions)
    assert "first 2 steps" in (run_dir / "modulate" / "calibration.md").read_text()
