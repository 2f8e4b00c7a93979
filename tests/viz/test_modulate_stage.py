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
