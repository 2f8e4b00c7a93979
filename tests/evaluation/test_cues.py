"""The reader's rules behind the keyword and hybrid judges: cues count unless negated or part of
a politeness formula, loops are read once, and the hybrid judge keeps the classifier from naming
an emotion the text does not carry."""

from __future__ import annotations

import pytest

from circuits.emotions import NEUTRAL
from circuits.evaluation.cues import cue_counts, loop_mask, readable
from circuits.evaluation.judges import HybridJudge, KeywordJudge
from circuits.evaluation.offline_judge import load_offline_judge


@pytest.mark.parametrize(("text", "counts"), [
    ("I am furious and livid.", {"anger": 2}),
    ("I made a list and went down to the mall.", {}),  # "mad" is not a prefix of "made"
    ("It makes my skin crawl.", {"disgust": 1}),  # idioms across spaces
    ("The office was not pleased with my idea.", {}),  # negated
    ("Don't worry about it.", {}),
    ("I am not upset. I am pleased.", {"happiness": 1}),  # the negation stops at the clause
    ("I'd be happy to help you with that.", {}),  # politeness formulas carry no emotion
    ("I'm afraid I can't do that.", {}),
    ("I am afraid of what comes next.", {"fear": 1}),
    ("Sad to say, the shop is closed.", {}),
    ("INFURIATING!", {"anger": 1}),  # stems match any ending, any case
])
def test_cue_counts(text, counts):
    assert dict(cue_counts(text)) == counts


def test_loops_are_read_once():
    words = "the if if if if sound".split()
    assert loop_mask(words) == [False, False, True, True, True, False]
    # a phrase of three or more words said twice is a loop too; two words twice is not
    assert loop_mask("you are afraid of it you are afraid of it".split()) == [False] * 5 + [True] * 5
    assert not any(loop_mask("very very good".split()))
    text, share = readable("The if if if if if if if if if")
    assert text == "the if" and share == pytest.approx(0.8)
    assert readable("Plain text, no loop.") == ("plain text no loop", 0.0)
    assert readable("...") == ("", 1.0)


def test_the_hybrid_judge_follows_the_reader_rules():
    judge, classifier = HybridJudge(), load_offline_judge()
    opener = "Finally, but I had to fight the admissions office again."  # the testbed's anger opening
    p = classifier.probabilities([opener])[0]
    assert classifier.labels[p.argmax()] == "anger" and p.max() >= judge.threshold  # the classifier is sure...
    assert judge.classify([opener]) == [NEUTRAL]  # ...but no word of the text expresses anger
    assert judge.classify([opener + " I am fuming!"]) == ["anger"]
    # mostly loop: nothing readable, whatever words loop
    loop = "Fin after my blood boil " + "after " * 8 + "blood " * 20
    assert KeywordJudge().classify([loop]) == ["anger"] and judge.classify([loop]) == [NEUTRAL]
    assert judge.classify(["I'd be happy to help you with that."]) == [NEUTRAL]
    # one cue each for sadness and fear: the classifier's probabilities break the tie (not the
    # study's emotion order, which the keyword judge uses)
    tie = "I am scared and sad."
    assert dict(cue_counts(tie)) == {"sadness": 1, "fear": 1}
    assert judge.classify([tie]) == ["fear"] and KeywordJudge().classify([tie]) == ["sadness"]
    assert judge.classify(["Ugh, the stale, grubby routine makes my skin crawl."]) == ["disgust"]
    assert judge.classify([]) == []
