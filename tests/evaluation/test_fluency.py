"""Fluency metrics against direct definitions."""

from __future__ import annotations

import math

import pytest
import torch

from circuits.evaluation.fluency import distinct_2, longest_repeated_ngram, reply_perplexity


def test_repetition_metrics():
    assert distinct_2("a b c d") == 1.0
    assert distinct_2("a b a b") == 2 / 3
    assert longest_repeated_ngram("the cat sat on the mat") == 1
    assert longest_repeated_ngram("i am so sad i am so sad") == 4
    assert longest_repeated_ngram("all different words here") == 0


@pytest.mark.parametrize("arch", ["emo-tiny", "gqa"])
def test_batched_perplexity_equals_one_by_one_reference(emo_tiny, make_random_model, arch):
    """Batched, left-padded, logits only at the reply's positions vs one full forward per
    reply; replies of different lengths (and one empty reply, scored on its stop token)."""
    model = emo_tiny if arch == "emo-tiny" else make_random_model(n_key_value_heads=2, gated_mlp=True)
    texts = ("Hi there.", "The bus came late today, sadly.", "Ok.")
    prompts = [model.render_chat([{"role": "user", "content": t}]) for t in texts]
    replies = [model.token_ids(" Noted, thanks."), model.token_ids(" I will plan around it and tell my team."), []]
    fast = reply_perplexity(model, prompts, replies)
    emo_tiny = model
    for p, r, got in zip(prompts, replies, fast):
        ids = emo_tiny.token_ids(p) + r + [emo_tiny.stop_token_ids[0]]
        with torch.no_grad():
            logits = emo_tiny.forward(torch.tensor([ids]), torch.ones(1, len(ids), dtype=torch.long))[0]
        lp = torch.log_softmax(logits.float(), -1)
        n_p = len(emo_tiny.token_ids(p))
        nll = [-float(lp[t - 1, ids[t]]) for t in range(n_p, len(ids))]
        assert math.isclose(got, math.exp(sum(nll) / len(nll)), rel_tol=1e-4)


def test_replies_sharing_a_prompt_score_as_they_would_alone(emo_tiny, make_random_model):
    """Several replies to one prompt continue from its cache: each scores as on its own, and
    with a backend without prefix caches (the whole sequence each time) the same."""
    prompt = emo_tiny.render_chat([{"role": "user", "content": "The train was late."}])
    replies = [emo_tiny.token_ids(t) for t in (" Ok.", " It was late again, sadly.", " Fine", "")]
    together = reply_perplexity(emo_tiny, [prompt] * len(replies), replies, batch_size=3)
    alone = [reply_perplexity(emo_tiny, [prompt], [r])[0] for r in replies]
    assert together == pytest.approx(alone, rel=1e-5)

    class NoPrefix:
        def __init__(self, model):
            self._m = model
            self.supports_prefix_cache = False

        def __getattr__(self, name):
            return getattr(self._m, name)

    whole = reply_perplexity(NoPrefix(emo_tiny), [prompt] * len(replies), replies, batch_size=3)
    assert whole == pytest.approx(alone, rel=1e-4)


def test_progress_bar_counts_every_reply_and_changes_nothing(emo_tiny, monkeypatch):
    """The bar over perplexity scoring ends at the number of replies, on both paths (prefix
    cache and whole sequence), empty replies without a stop token included; values unchanged."""
    import circuits.evaluation.fluency as fluency

    totals = []

    class Bar:
        def __init__(self, total, disable, **_):
            self.n, self.total, self.disable = 0, total, disable

        def update(self, k):
            self.n += k

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            totals.append((self.n, self.total, self.disable))

    prompt = emo_tiny.render_chat([{"role": "user", "content": "The train was late."}])
    other = emo_tiny.render_chat([{"role": "user", "content": "Ok."}])
    prompts = [prompt, other, prompt, other, prompt]
    replies = [emo_tiny.token_ids(t) for t in (" Ok.", " It was late again.", "", " Fine", " So late.")]
    quiet = reply_perplexity(emo_tiny, prompts, replies, batch_size=2, include_stop=False)
    monkeypatch.setattr(fluency, "tqdm", Bar)
    shown = reply_perplexity(emo_tiny, prompts, replies, batch_size=2, include_stop=False, progress=True)
    assert shown == pytest.approx(quiet, rel=1e-6, nan_ok=True) and math.isnan(shown[2])
    monkeypatch.setattr(emo_tiny, "supports_prefix_cache", False, raising=False)
    whole = reply_perplexity(emo_tiny, prompts, replies, batch_size=2, include_stop=False, progress=True)
    assert whole == pytest.approx(quiet, rel=1e-4, nan_ok=True)
    assert totals == [(5, 5, False), (5, 5, False)]


def test_diversity_across_replies_sees_a_collapse_onto_one_opening():
    from circuits.evaluation.fluency import corpus_distinct_2, opening, top_opening_share

    assert opening("Ugh, the stale, grubby routine.") == ("ugh", "the", "stale")
    same = ["Ugh, the stale bread.", "ugh the stale milk", "UGH! The stale, old cheese.", "Fine, thanks."]
    assert top_opening_share(same) == pytest.approx(75.0)
    assert top_opening_share(["a b c", "d e f"]) == 50.0 and top_opening_share([]) == 0.0
    # "a b" twice among 4 bigrams (a b, b c, a b, b d): 3 unique / 4
    assert corpus_distinct_2(["a b c", "a b d"]) == pytest.approx(0.75)
    assert corpus_distinct_2(["one"]) == 1.0


def test_summarise_reports_diversity_per_target_averaged():
    from circuits.evaluation.fluency import corpus_distinct_2
    from circuits.evaluation.records import JudgedReply
    from circuits.modulation.comparison import summarise

    def rec(target, text):
        return JudgedReply("s", "t", "positive", target, target, text, 3, True, perplexity=1.0, distinct_2=1.0,
                           longest_repeat=0)

    recs = [rec("anger", "I am furious about the delay."), rec("anger", "I am furious about the fee."),
            rec("fear", "What if it fails?"), rec("fear", "I am scared.")]
    s = summarise(recs)
    assert s["top_opening"] == pytest.approx((100.0 + 50.0) / 2)  # anger collapsed on one opening, fear did not
    anger = corpus_distinct_2(["I am furious about the delay.", "I am furious about the fee."])
    fear = corpus_distinct_2(["What if it fails?", "I am scared."])
    assert s["corpus_distinct_2"] == pytest.approx((anger + fear) / 2, abs=1e-4)
