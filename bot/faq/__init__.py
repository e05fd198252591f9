"""Matching a typed question to a curated FAQ entry, and measuring how well it does.

- `normalise`: text to stemmed, ASCII-folded tokens without stop words
- `matcher`: the index and the answer / suggest / "I don't know" decision
- `evaluation`: figures on a labelled set against issue 19's targets
- `grouping`: near-identical questions grouped for coordinator reports
"""

from bot.faq.evaluation import (
    TARGETS,
    Labelled,
    Tally,
    evaluate,
    read_labelled,
    shortfalls,
)
from bot.faq.grouping import group_similar
from bot.faq.matcher import (
    ANSWER_GAP,
    ANSWER_SCORE,
    CLOSEST_SCORE,
    SEE_ALSO_WITHIN,
    SUGGEST_SCORE,
    FaqMatcher,
    Match,
    Scored,
)
from bot.faq.normalise import fold, tokens, words

__all__ = [
    "ANSWER_GAP",
    "ANSWER_SCORE",
    "CLOSEST_SCORE",
    "SEE_ALSO_WITHIN",
    "SUGGEST_SCORE",
    "TARGETS",
    "FaqMatcher",
    "Labelled",
    "Match",
    "Scored",
    "Tally",
    "evaluate",
    "fold",
    "group_similar",
    "read_labelled",
    "shortfalls",
    "tokens",
    "words",
]
