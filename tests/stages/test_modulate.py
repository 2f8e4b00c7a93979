"""The control stage's shortcuts against doing the work again, on a real (small) run."""

from __future__ import annotations

import pytest

from circuits import layout
from circuits.artifacts import RunDir
from circuits.evaluation.records import JudgedReply
from circuits.modulation.circuit_modulation import Strength
from circuits.run import load_run_config
from circuits.stages.context import RunContext
from circuits.vocab import Anchor, Method, Split


@pytest.fixture(scope="module")
def ctx(small_run):
    return RunContext(load_run_config(small_run), RunDir(small_run))


def _split(ctx):
    return ctx.split(Split.TEST).subset(1, ctx.cfg.data.subset_seed)


def test_unmodified_replies_are_generated_once_and_equal_a_fresh_generation(ctx, monkeypatch):
    import circuits.modulation.comparison as comparison
    import circuits.stages.modulate as stage

    calls = []
    real = comparison.generate_jobs
    monkeypatch.setattr(comparison, "generate_jobs", lambda *a, **k: calls.append(1) or real(*a, **k))
    comp = stage.comparison(ctx, _split(ctx))
    first = comp.replies(Method.NONE, "anger")
    second = comp.replies(Method.NONE, "fear")
    assert len(calls) == 1
    fresh = stage.comparison(ctx, _split(ctx)).replies(Method.NONE, "fear")
    assert len(calls) == 2
    assert second == fresh  # same replies, labels, perplexities; scored against the new target
    assert [r.reply for r in first] == [r.reply for r in second]
    assert all(r.target == "fear" for r in second)


def test_sweep_at_the_chosen_strength_reuses_exactly_the_headline_replies(small_run):
    """With one skeleton per theme the sweep's prompts are the headline's, so x1 is not rerun:
    its records are the headline records of that method."""
    run = RunDir(small_run)
    headline = [JudgedReply.from_json(r) for r in run.read_jsonl(layout.MODULATE.replies.path())]
    sweep = [JudgedReply.from_json(r) for r in run.read_jsonl(layout.MODULATE.sweep_replies.path())]
    for method in (Method.CIRCUIT, Method.STEERING):
        want = [r for r in headline if r.method is method]
        got = [r.with_(multiplier=None) for r in sweep if r.method is method and r.multiplier == 1.0]
        assert got == want and len(want) > 0


def test_neutral_anchor_gives_circuit_and_random_the_anchored_vectors(small_run, tmp_path, monkeypatch):
    """``modulate.anchor=neutral``: circuit and random get mu_e - mu_neutral in the prompt phase
    (read once per run, saved), the reply phase and the study-style method are unchanged."""
    import shutil

    import torch

    import circuits.modulation.methods as methods
    import circuits.stages.modulate as stage
    from circuits.modulation.vectors import InterventionVectors, neutral_anchored

    run_dir = tmp_path / "run"
    shutil.copytree(small_run, run_dir)
    cfg = load_run_config(run_dir)
    cfg.modulate.anchor = Anchor.NEUTRAL
    ctx = RunContext(cfg, RunDir(run_dir))
    comp = stage.comparison(ctx, _split(ctx))
    study = ctx.circuits.vectors
    anchored = ctx.anchored_vectors

    emotional = ctx.discovery_prompts(ctx.elicitation.groups)
    neutral = ctx.neutral_prompts(ctx.split(Split.DISCOVERY))
    neurons, heads, n = neutral_anchored(ctx.model, emotional, neutral, ctx.emotions, batch_size=7)
    assert anchored.n_groups == n > 0
    assert torch.allclose(anchored.neurons, neurons, atol=1e-4)
    assert torch.allclose(anchored.heads, heads, atol=1e-4)
    assert anchored.reply_heads is study.reply_heads and not torch.allclose(anchored.heads, study.heads)
    saved = InterventionVectors.load(run_dir / layout.MODULATE.anchored_vectors.path())
    assert torch.equal(saved.heads, anchored.heads) and torch.equal(saved.reply_neurons, study.reply_neurons)
    assert ctx.anchored_vectors is anchored  # read once per run

    used = []
    monkeypatch.setattr(methods, "modulation_hooks", lambda circuit, vectors, *a, **k: used.append((circuit, vectors)))
    for method in (Method.CIRCUIT, Method.RANDOM, Method.CIRCUIT_STUDY):
        comp.methods[method].hooks("fear", Strength())
    fear = ctx.circuits.circuits["fear"]
    draw = comp.methods[Method.RANDOM].controls.random_circuits[0]["fear"]
    assert used == [(fear, anchored), (draw, anchored), (fear, study)]


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
    comp = stage.comparison(two, _split(two))
    fear = two.circuits.circuits["fear"]
    a, b = (d["fear"] for d in comp.methods[Method.RANDOM].controls.random_circuits)
    assert a != b and not (a.nodes & fear.nodes) and not (b.nodes & fear.nodes)
    assert a.layer_profile() == b.layer_profile() == fear.layer_profile()
    strength = Strength(2.0, 1.0, True)
    recs = comp.replies(Method.RANDOM, "fear", strength)
    n = len(comp.neutral)
    assert [r.draw for r in recs] == [0] * n + [1] * n
    single = stage.comparison(with_draws(1), _split(two)).replies(Method.RANDOM, "fear", strength)
    assert len(single) == n
    assert [r.reply for r in recs[:n]] == [r.reply for r in single]


def test_calibration_searches_prompt_x_reply_x_steps_and_keeps_the_fluency_limit(small_run, tmp_path, monkeypatch):
    """Calibration tries every (prompt scale, reply scale, reply steps) of the grids and picks, by
    the one rule, the most accurate setting within the fluency limit, not a more accurate one
    beyond it. Replies are stubbed: this checks the search and the rule, not generation."""
    import shutil

    import circuits.stages.modulate as stage
    from circuits.modulation.comparison import Comparison

    run_dir = tmp_path / "run"
    shutil.copytree(small_run, run_dir)
    cfg = load_run_config(run_dir)
    m = cfg.modulate
    m.prompt_scale_grid, m.reply_scale_grid, m.reply_steps_grid = [1.0, 2.0], [1.0, 3.0], [None, 2]
    m.alpha_grid, m.study_scale_grid, m.fluency_factor = [4.0], [1.0], 2.0
    ctx = RunContext(cfg, RunDir(run_dir))
    reply_on = stage._reply_on(ctx)
    best, too_rough = Strength(1.0, 3.0, reply_on, 2), Strength(2.0, 3.0, reply_on, None)
    seen = []

    def fake_run(self, settings, n_prompts=None, desc=""):
        out = []
        for s in settings:
            seen.append((s.method, s.emotion, s.strength))
            acc, ppl = {best: (0.9, 1.9), too_rough: (1.0, 2.5)}.get(s.strength, (0.5, 1.2))
            out.append([JudgedReply("s", "t", "positive", s.emotion, s.emotion if i < 10 * acc else "neutral", "r", 1,
                                    True, method=s.method, perplexity=1.0 if s.method is Method.NONE else ppl,
                                    distinct_2=1.0, longest_repeat=1) for i in range(10)])
        return out

    monkeypatch.setattr(Comparison, "run", fake_run)
    strengths = stage.calibrate(ctx)
    tried = {s for meth, e, s in seen if meth is Method.CIRCUIT and e == "fear"}
    assert tried == {Strength(p, r, reply_on, k) for p in (1.0, 2.0) for r in (1.0, 3.0) for k in (None, 2)}
    assert all(strengths[Method.CIRCUIT][e] == best for e in ctx.emotions)
    table = (run_dir / layout.MODULATE.calibration.path()).read_text()
    assert "first 2 steps" in table and "median perplexity <= 2.000" in table


def test_every_method_gets_the_strength_it_is_applied_with(ctx):
    """Random circuits are applied at the circuit's strengths; no intervention and prompting take none."""
    import circuits.stages.modulate as stage

    strengths = stage._with_borrowed(stage.fixed_strengths(ctx))
    assert strengths[Method.RANDOM] is strengths[Method.CIRCUIT]
    assert strengths[Method.NONE] == strengths[Method.PROMPTING] == {}
    assert set(strengths) == set(Method)
