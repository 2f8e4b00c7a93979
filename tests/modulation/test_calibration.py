"""Calibration: the grid and successive halving choose by the same rule; halving finds the
grid's choice where the best setting is clear, on far fewer replies; prefixes span the themes."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from circuits.data.prompts import Prompt, stratified_order
from circuits.evaluation.records import JudgedReply
from circuits.modulation.calibration import calibrate
from circuits.modulation.comparison import Setting
from circuits.vocab import Method, Search, Ties

N_PROMPTS = 90


class FakeComparison:
    """Replies whose accuracy and perplexity are set per strength (a float): accuracy rises with
    the strength, perplexity too, and past 2.0 it leaves the fluency limit; strength 1.7 is
    clearly the best within it. Which replies are correct is spread evenly over the prompts."""

    def __init__(self) -> None:
        self.neutral = [None] * N_PROMPTS
        self.methods = {Method.CIRCUIT: SimpleNamespace(draws=None), Method.STEERING: SimpleNamespace(draws=None)}
        self.generated = 0

    def settings(self, method, emotion, strength=None):
        return [Setting(method, emotion, strength)]

    @staticmethod
    def quality(strength: float) -> tuple[float, float]:
        accuracy = 0.95 if strength == 1.7 else min(0.9, 0.3 * strength)
        return accuracy, 1.0 + strength * 0.5

    def run(self, settings, n_prompts=None, desc=""):
        n = N_PROMPTS if n_prompts is None else n_prompts
        out = []
        for s in settings:
            acc, ppl = self.quality(s.strength)
            self.generated += n
            hits = {round(i / acc) for i in range(int(acc * N_PROMPTS))} if acc else set()
            out.append([JudgedReply("s", "t", "positive", s.emotion, s.emotion if i in hits else "neutral", "r", 1,
                                    True, method=s.method, perplexity=ppl, distinct_2=1.0, longest_repeat=1)
                        for i in range(n)])
        return out


GRID = [0.5, 1.0, 1.3, 1.5, 1.7, 1.9, 2.2, 2.6, 3.0, 4.0, 5.0, 6.0]


@pytest.mark.parametrize("search", list(Search))
def test_both_searches_choose_the_clear_best_within_the_fluency_limit(search):
    comp = FakeComparison()
    chosen = calibrate(comp, {(Method.CIRCUIT, "fear"): GRID, (Method.STEERING, "fear"): GRID}, limit=2.0,
                       search=search, rate=3, first=10)
    for key in chosen:
        assert chosen[key].strength == 1.7
        assert chosen[key].stats["n"] == N_PROMPTS  # the choice is made on every prompt
        assert chosen[key].candidates == len(GRID)


def test_halving_spends_a_fraction_of_the_grid():
    """12 candidates x 90 prompts for the grid; halving: 12 x 10, then 4 x 30 (20 new each), then
    2 x 90 (60 new each)."""
    grid, halving = FakeComparison(), FakeComparison()
    key = (Method.CIRCUIT, "fear")
    g = calibrate(grid, {key: GRID}, limit=2.0, search=Search.GRID)[key]
    h = calibrate(halving, {key: GRID}, limit=2.0, search=Search.HALVING, rate=3, first=10)[key]
    assert g.replies == 12 * 90 and h.replies == 12 * 10 + 4 * 20 + 2 * 60
    assert h.replies < g.replies / 3


class FluentFirstComparison(FakeComparison):
    """Strengths >= 2 look fluent on the first 10 prompts (perplexity 1.5) and are not on the
    others (3.0, past the limit of 2.0); strength 1.0 is within the limit everywhere."""

    def run(self, settings, n_prompts=None, desc=""):
        out = super().run(settings, n_prompts, desc)
        for s, replies in zip(settings, out):
            for i, r in enumerate(replies):
                object.__setattr__(r, "perplexity", (1.5 if i < 10 else 3.0) if s.strength >= 2 else 1.2)
        return out


def test_halving_never_keeps_a_setting_past_the_limit_when_the_grid_finds_one_within_it():
    """The survivors of the first rounds (2.2, 2.1) leave the fluency limit on the later prompts;
    halving then measures the candidates it dropped on every prompt and chooses the grid's 1.0."""
    key = (Method.CIRCUIT, "fear")
    cands = [0.5, 1.0, 2.0, 2.1, 2.2]
    g = calibrate(FluentFirstComparison(), {key: cands}, limit=2.0, search=Search.GRID)[key]
    h = calibrate(FluentFirstComparison(), {key: cands}, limit=2.0, search=Search.HALVING, rate=3, first=10)[key]
    assert g.strength == 1.0 and h.strength == 1.0
    assert h.stats == g.stats and h.stats["median_perplexity"] <= 2.0
    assert h.replies == g.replies == 5 * 90  # here every candidate ends up measured on every prompt


class SilentComparison(FakeComparison):
    """Every candidate reads 0% (a real model on few calibration prompts); perplexity still
    rises with the strength and leaves the limit of 2.0 past strength 2.0."""

    @staticmethod
    def quality(strength: float) -> tuple[float, float]:
        return 0.0, 1.0 + strength * 0.5


@pytest.mark.parametrize("search", list(Search))
def test_ties_take_the_gentlest_or_the_strongest_inside_the_limit(search):
    """On equal accuracy ``fluent`` takes the weakest candidate and ``strong`` the strongest
    still within the fluency limit (never one past it), in the grid and in halving alike."""
    key = (Method.CIRCUIT, "fear")
    fluent = calibrate(SilentComparison(), {key: GRID}, limit=2.0, search=search, rate=3, first=10)[key]
    strong = calibrate(SilentComparison(), {key: GRID}, limit=2.0, search=search, rate=3, first=10,
                       ties=Ties.STRONG)[key]
    assert fluent.strength == 0.5 and strong.strength == 1.9
    assert strong.stats["median_perplexity"] <= 2.0 and strong.stats["n"] == N_PROMPTS
    # a real accuracy difference still wins over the tie-break: the clear best stays the clear best
    clear = calibrate(FakeComparison(), {key: GRID}, limit=2.0, search=search, rate=3, first=10, ties=Ties.STRONG)
    assert clear[key].strength == 1.7


def test_a_prefix_of_the_stratified_order_spans_every_theme():
    prompts = [Prompt(f"{t}_{k}", t, v, None, f"{t} {k} {v}") for t in "ABCDE" for k in range(4)
               for v in ("positive", "neutral", "negative")]
    order = stratified_order(prompts, seed=0)
    assert sorted(order) == list(range(len(prompts)))
    assert {prompts[i].theme for i in order[:5]} == set("ABCDE")
    assert order == stratified_order(prompts, seed=0) != stratified_order(prompts, seed=1)


def test_settings_of_no_intervention_share_replies_across_targets():
    from circuits.modulation.comparison import Comparison

    assert Comparison._key(Setting(Method.NONE, "anger")) == Comparison._key(Setting(Method.NONE, "fear"))
    assert Comparison._key(Setting(Method.CIRCUIT, "anger", 1.0)) != Comparison._key(Setting(Method.CIRCUIT, "fear", 1.0))
