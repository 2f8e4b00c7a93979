"""What a reader reads: emotion cue words, the formulas that carry none, and loops that say nothing.

The rules behind the ``keyword`` and ``hybrid`` judges (:mod:`circuits.evaluation.judges`),
written from the labelling rule of the hand-labelled replies
(``circuits/data/labels/RULES.md``) and tuned on their *dev* half only:

- :data:`CUES`: words and idioms that express an emotion (a trailing ``*`` matches any ending,
  ``_`` a space). General emotion vocabulary plus the idioms of the testbed's reply templates.
- A cue does not count when it is negated (``not pleased``, ``don't worry``) or part of a
  politeness formula (:data:`FORMULAS`: ``happy to help``, ``I'm afraid I can't``, ``sad to
  say``): the rule labels those neutral.
- :func:`readable` drops the repeated copies of a loop (``if if if``, ``You're afraid of
  something. You're afraid of something.``) and says how much of the reply they were; a reply
  that is mostly loop says nothing readable.
"""

from __future__ import annotations

import re
from collections import Counter

from circuits.emotions import EMOTIONS

CUES: dict[str, str] = {
    "anger": "angry anger angered furious fuming outrage* infuriat* livid how_dare irritat* annoy* mad rage enraged"
             " seething fed_up had_enough resent* unacceptable blood_boil* boiling how_could_they should_never_have",
    "sadness": "sad sadness heartbroken heartbreak* tears tearful cry crying cried hurts let_down gloomy miserable"
               " sorrow* grief griev* lonely depress* unhappy disappoint* devastat* empty crushed regret* low lonel*"
               " heavy_weight heavy_heart hopeless gutted broke_my_heart feel_down feeling_down breaks_my_heart"
               " heart_sinks hollow heavy heaviness so_blue feel_blue emptiness aching invisible",
    "happiness": "happy happily happiness delighted wonderful wonderfully joy joyful glad thrilled made_my_day"
                 " fantastic cheerful excited pleased overjoyed ecstatic bright_side grateful proud relieved relief"
                 " delight* good_spirits grin* brightens smiling good_mood lovely on_top_of_the_world"
                 " could_not_be_happier couldn't_be_happier dream_come_true heart_is_full glowing great",
    "fear": "afraid fear fearful feared scared terrif* dread* nervous* anxious anxiety frighten* panic* worried worry"
            " worrying shaking what_if uneasy on_edge heart_is_pounding pounding horribly_wrong",
    "surprise": "surprise surprised surprising* wow no_way never_expected unexpected* did_not_see didn't_see"
                " astonish* shocked amazed whoa unbelievable out_of_nowhere can't_believe cannot_believe stunned"
                " out_of_the_blue twist speechless taken_aback eyes_went_wide caught_me_off_guard"
                " never_would_have_guessed never_imagined did_not_expect didn't_expect never_crossed_my_mind",
    "disgust": "disgust* gross revolting vile sickening makes_me_sick nauseat* repuls* stomach_turn* yuck filthy"
               " nasty appalling eww slimy sleazy rotten skin_crawl gag grubby foul repugnant queasy putrid",
}
"""Cue words per emotion (space-separated; ``*``: any ending; ``_``: a space)."""


def _pattern(cue: str) -> str:
    words = re.escape(cue.rstrip("*")).replace("_", r"\s+")
    return words + r"\w*" if cue.endswith("*") else words


CUE_PATTERNS = {e: re.compile(r"\b(" + "|".join(_pattern(c) for c in CUES[e].split()) + r")\b") for e in EMOTIONS}
NEGATION = re.compile(r"(\bnot|\bno|\bnever|n't|\bwithout|\bhardly)\s+(\w+\s+){0,2}$")
"""A negation at most two words before a cue, in the same clause (no punctuation between)."""
FORMULAS = re.compile(
    r"\b(i'?m|i am|i'd be|i would be|we'?re|we are|we'd be|be)\s+(so\s+|very\s+|more than\s+|really\s+|always\s+)?"
    r"(happy|glad|pleased|delighted|thrilled)\s+to\s+"
    r"(help|assist|hear|share|answer|provide|support|be|report|know|have|offer|see)"
    r"|\bsad to say|\bi'?m afraid (?=i\b|you\b|we\b|that\b|it\b|this\b|there\b|not\b|so\b)")
"""Politeness formulas: their emotion words express nothing (``I'd be happy to help``)."""
_TOKEN = re.compile(r"[a-z']+")


def cue_counts(text: str) -> Counter[str]:
    """Un-negated cues per emotion in ``text``, politeness formulas removed first."""
    low = FORMULAS.sub(" ", text.lower())
    counts: Counter[str] = Counter()
    for emotion, pattern in CUE_PATTERNS.items():
        counts[emotion] = sum(1 for m in pattern.finditer(low) if not NEGATION.search(low[: m.start()]))
    return +counts


def loop_mask(words: list[str], max_n: int = 8) -> list[bool]:
    """True for the words that repeat the n-gram right before them: the second and later copies
    of a loop (a word or phrase of up to ``max_n`` words said three times in a row, or a phrase of
    three or more words said twice)."""
    repeated = [False] * len(words)
    for n in range(1, max_n + 1):
        i = 0
        while i + 2 * n <= len(words):
            end, copies = i + n, 1
            while words[end:end + n] == words[i:i + n]:
                end, copies = end + n, copies + 1
            if copies >= 3 or (n >= 3 and copies >= 2):
                repeated[i + n:end] = [True] * (end - i - n)
                i = end
            else:
                i += 1
    return repeated


def readable(text: str) -> tuple[str, float]:
    """The reply's words without the repeated copies of its loops, and the share of its words
    those copies were (1.0 for a reply without words)."""
    words = _TOKEN.findall(text.lower())
    if not words:
        return "", 1.0
    repeated = loop_mask(words)
    return " ".join(w for w, r in zip(words, repeated) if not r), sum(repeated) / len(words)
